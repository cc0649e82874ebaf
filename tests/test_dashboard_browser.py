"""The review dashboard in a real browser: Playwright driving Debian's chromium against the
app served by uvicorn on a loopback port."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import PromptRegistry
from langchain_prompt_optimization.review.dashboard import create_app
from langchain_prompt_optimization.review.dashboard.server import serve_in_thread
from langchain_prompt_optimization.testing.review_data import (
    INJECTED_FEEDBACK,
    build_review_demo,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

CHROMIUM = Path(os.environ.get("PROMPTOPT_CHROMIUM", "/usr/bin/chromium"))
TOKEN = "browser-test-token"
JANE = "jane.doe@example.com"
JANE_PAGE = "/user?u=" + quote("jane%2Edoe@example%2Ecom", safe="")


def _need_chromium() -> None:
    """Skip without chromium; under CI (CI=true) fail: `make browser` installs it."""
    why = None
    if not CHROMIUM.exists():
        why = f"{CHROMIUM} is missing (make browser installs Debian's chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError as exc:
            why = f"playwright is not installed ({exc}); it is in the dev extra"
    if why is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{why}: CI must run the browser tests")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def served():
    """The review demo, served on a free loopback port: `(demo, base URL)`."""
    demo = build_review_demo(InMemoryStore())
    with serve_in_thread(create_app(demo.store, token=TOKEN)) as url:
        yield demo, url


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


def _sign_in(page, url: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=token]", TOKEN)
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{url}/users")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["promptopt_session"]["httpOnly"] is True


def test_approving_by_clicking_serves_the_version_to_the_next_run(served, page):
    demo, url = served
    _sign_in(page, url)
    page.goto(url + JANE_PAGE)
    card = page.locator("li#v4")
    assert "pending" in card.inner_text()
    card.locator("input[name=note]").first.fill("approved in the browser")
    card.locator("button[data-action=approve]").click()
    page.wait_for_selector(".flash.ok")
    assert "v4 of system for jane.doe@example.com is now active" in page.inner_text(".flash")
    registry = PromptRegistry(demo.store)
    current = registry.current(JANE)
    assert (current.version, current.status) == (4, "active")
    assert current.review["note"] == "approved in the browser"
    assert registry.paused(JANE) is None  # approving resumed the paused lineage
    result = demo.ask(JANE)
    assert result["prompt_versions"]["system"] == 4
    assert demo.model.requests[-1].system_prompt == current.text


def test_injected_script_in_feedback_shows_as_text(served, page):
    _, url = served
    for path in ("/quarantined", JANE_PAGE, "/feedback" + JANE_PAGE[len("/user") :]):
        page.goto(url + path)
        assert "<script>window.__promptopt_xss = 1;" in page.inner_text("main")
        assert page.evaluate("window.__promptopt_xss") is None
    assert page.locator("main script").count() == 0
    assert page.dialogs == []  # no alert() ran
    assert INJECTED_FEEDBACK in page.inner_text("main")


def test_an_action_without_the_token_is_refused(served, page):
    demo, url = served
    page.goto(url + "/queue")
    response_status = []
    page.on("response", lambda r: response_status.append(r.status) if "/act/" in r.url else None)
    page.locator("button[data-action=approve]").first.click()
    page.wait_for_selector("form.login")
    assert "sign in with the dashboard token to act" in page.inner_text("main")
    assert response_status == [401]
    assert PromptRegistry(demo.store).version(JANE, 4).status == "pending"
    # a wrong token does not sign in either
    page.fill("input[name=token]", "not-the-token")
    page.click("form.login button[type=submit]")
    page.wait_for_selector(".flash.error")
    assert "wrong token" in page.inner_text("main")
    assert "promptopt_session" not in {c["name"] for c in page.context.cookies()}
