"""The review dashboard over HTTP (Starlette's TestClient): pages, actions, access rules,
escaping, errors shown as messages."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, make_dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import httpx
import pytest
from langgraph.store.memory import InMemoryStore
from starlette.testclient import TestClient

from langchain_prompt_optimization import PromptRegistry
from langchain_prompt_optimization.review.cli import main
from langchain_prompt_optimization.review.dashboard import create_app
from langchain_prompt_optimization.review.dashboard.access import (
    SESSION_SECONDS,
    Access,
    check_bind,
    is_loopback,
)
from langchain_prompt_optimization.review.dashboard.charts import (
    Marker,
    ServedVersion,
    feedback_chart,
    score_chart,
)
from langchain_prompt_optimization.review.dashboard.pages import VERSION_FIELDS, extra_fields
from langchain_prompt_optimization.review.dashboard.worddiff import word_diff
from langchain_prompt_optimization.stores import PromptVersion, StoreLayout, UserRef, drive
from langchain_prompt_optimization.testing.review_data import (
    INJECTED_FEEDBACK,
    build_review_demo,
)

from .test_no_blocking import _detector

TOKEN = "dashboard-test-token"
JANE = "jane.doe@example.com"
JANE_U = "jane%2Edoe@example%2Ecom"  # the user's label: what the pages put in `u=`
JANE_Q = quote(JANE_U, safe="")  # ... URL-encoded in links


@pytest.fixture
def demo():
    return build_review_demo(InMemoryStore())


@pytest.fixture
def client(demo):
    return TestClient(create_app(demo.store, token=TOKEN))


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient) -> str:
    """Sign in through the form; the CSRF token for the next forms."""
    csrf = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"token": TOKEN, "csrf_token": csrf, "next": "/queue"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "httponly" in response.headers["set-cookie"].lower()
    return csrf


def act(client: TestClient, name: str, csrf: str, **fields: object) -> httpx.Response:
    data = {"csrf_token": csrf, "u": JANE_U, "p": "system", "next": f"/user?u={JANE_Q}"}
    data.update({k: str(v) for k, v in fields.items()})
    return client.post(f"/act/{name}", data=data)


def test_pages_show_the_review_work_on_every_store(store):
    build_review_demo(store)
    client = TestClient(create_app(store, token=TOKEN))
    users = client.get("/users")
    assert users.status_code == 200
    assert JANE in users.text
    assert "bob@example.com" in users.text
    jane_row = users.text.split(f">{JANE}</a>")[1].split("</tr>")[0]
    assert "system v3" in jane_row  # active version
    assert "<strong>1</strong>" in jane_row  # one pending version, one quarantined item
    lineage = client.get(f"/user?u={JANE_Q}")
    assert lineage.status_code == 200
    for text in ("v4", "pending", "auto-rollback: v2 mean 0.00", "Paused for review", "<svg"):
        assert text in lineage.text
    assert "mean 0 over n=3" in lineage.text  # monitoring of v2
    assert "calls 1" in lineage.text  # optimizer usage
    assert "Screening" in lineage.text  # the screeners' verdicts on v4
    queue = client.get("/queue")
    assert "v4" in queue.text
    assert "/act/approve" in queue.text
    bob_entry = queue.text.split(">bob@example.com</a>")[1].split("</tr>")[0]
    assert "flagged: signs emails as the CEO" in bob_entry  # the safety checks' verdicts
    assert "<strong>no-impersonation</strong>: hold (persona)" in bob_entry
    assert "Ignore all previous instructions" in client.get("/quarantined").text
    assert "auto-rollback" in client.get("/paused").text
    diff = client.get(f"/diff?u={JANE_Q}&p=system&a=1&b=2")
    assert "<ins>" in diff.text
    assert "Sign" in diff.text.split("<ins>")[1]
    assert client.get(f"/feedback?u={JANE_Q}&status=quarantined").status_code == 200
    assert client.get(f"/examples?u={JANE_Q}").status_code == 200
    approved = client.post(
        "/act/approve",
        data={"u": JANE_U, "p": "system", "version": "4", "note": "ok"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert approved.json()["ok"] is True  # under the lease, through the async registry
    assert PromptRegistry(store).current(JANE).version == 4


def test_users_page_searches_and_pages():
    store = InMemoryStore()
    demo = build_review_demo(store)
    for i in range(5):
        demo.ask(f"user-{i}@corp.example")
    client = TestClient(create_app(store, token=TOKEN, page_size=3))
    first = client.get("/users")
    assert "page 1 of 3" in first.text
    assert "7 of 7 user(s)" in first.text
    third = client.get("/users?page=3")
    assert "user-4@corp.example" in third.text
    assert JANE not in third.text
    found = client.get("/users?q=JANE")
    assert "1 of 7 user(s)" in found.text
    assert JANE in found.text
    assert "bob@example.com" not in found.text


def test_approve_with_the_sign_in_form_serves_the_next_run(demo, client):
    csrf = sign_in(client)
    response = act(client, "approve", csrf, version=4, note="looks right")
    assert response.status_code == 200  # followed the redirect back to the lineage
    assert "v4 of system for jane.doe@example.com is now active" in response.text
    current = PromptRegistry(demo.store).current(JANE)
    assert (current.version, current.review["note"]) == (4, "looks right")
    assert demo.ask(JANE)["prompt_versions"]["system"] == 4
    assert demo.model.requests[-1].system_prompt == current.text


def test_bearer_token_acts_without_a_form(demo, client):
    response = client.post(
        "/act/reject",
        data={"u": JANE_U, "p": "system", "version": "4", "note": "no"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 200
    assert response.json() == {"ok": True, "message": response.json()["message"]}
    assert PromptRegistry(demo.store).version(JANE, 4).status == "rejected"
    wrong = client.post(
        "/act/approve",
        data={"u": JANE_U, "version": "4"},
        headers={"Authorization": "Bearer nope-nope-nope"},
    )
    assert wrong.status_code == 401


def test_actions_without_the_token_are_refused(demo, client):
    csrf = csrf_of(client.get(f"/user?u={JANE_Q}").text)
    response = act(client, "approve", csrf, version=4)
    assert response.status_code == 401
    assert "sign in with the dashboard token" in response.text
    wrong = client.post("/login", data={"token": "not-the-token", "csrf_token": csrf, "next": "/"})
    assert wrong.status_code == 401
    assert act(client, "approve", csrf, version=4).status_code == 401
    assert PromptRegistry(demo.store).version(JANE, 4).status == "pending"


def test_sessions_are_signed_by_the_process_and_expire():
    access = Access("a-long-token")
    cookie = access.new_session(now=1_000.0)
    assert access.session_valid(cookie, now=1_000.0 + SESSION_SECONDS - 1)
    assert not access.session_valid(cookie, now=1_000.0 + SESSION_SECONDS)
    nonce, issued, signature = cookie.split(".")
    assert not access.session_valid(f"{nonce}.{int(issued) + 3600}.{signature}", now=1_000.0)
    assert not Access("a-long-token").session_valid(cookie, now=1_000.0)  # another process
    assert not Access(None).session_valid(cookie, now=1_000.0)


def test_actions_without_a_matching_csrf_token_are_refused(demo, client):
    csrf = sign_in(client)
    assert act(client, "approve", "forged", version=4).status_code == 403
    cross_site = client.post(
        "/act/approve",
        data={"csrf_token": csrf, "u": JANE_U, "version": "4"},
        headers={"Origin": "http://evil.example"},
    )
    assert cross_site.status_code == 403
    client.cookies.delete("promptopt_csrf")
    assert act(client, "approve", csrf, version=4).status_code == 403
    assert PromptRegistry(demo.store).version(JANE, 4).status == "pending"
    # a GET never changes anything
    assert client.get("/act/approve").status_code == 405


def test_read_only_serves_no_action(demo):
    client = TestClient(create_app(demo.store, read_only=True))
    page = client.get(f"/user?u={JANE_Q}")
    assert page.status_code == 200
    assert "/act/" not in page.text
    assert "read-only" in page.text
    assert "/act/" not in client.get("/queue").text
    response = client.post(
        "/act/approve",
        data={"u": JANE_U, "version": "4"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code in (404, 405)
    assert client.get("/login").status_code == 404
    assert PromptRegistry(demo.store).version(JANE, 4).status == "pending"


def test_non_loopback_needs_a_token_and_sign_in_to_read(demo, monkeypatch, capsys):
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.0.2.7")
    with pytest.raises(ValueError, match="not a loopback address"):
        check_bind("0.0.0.0", token_given=False, read_only=True)
    check_bind("0.0.0.0", token_given=True, read_only=False)
    monkeypatch.delenv("PROMPTOPT_UI_TOKEN", raising=False)
    assert main(["--store", "memory://", "serve", "--host", "0.0.0.0"]) == 2
    assert "not a loopback address" in capsys.readouterr().err
    client = TestClient(create_app(demo.store, token=TOKEN, reading_needs_sign_in=True))
    page = client.get("/users", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")
    bearer = client.get("/users", headers={"Authorization": f"Bearer {TOKEN}"})
    assert JANE in bearer.text
    sign_in(client)
    assert JANE in client.get("/users").text


def test_serve_prints_a_generated_token(monkeypatch, tmp_path):
    import uvicorn

    from langchain_prompt_optimization.review.dashboard import serve

    build_review_demo(
        store := __import__("langchain_prompt_optimization").open_store(
            f"sqlite:///{tmp_path}/s.db"
        )
    )
    store.conn.close()  # type: ignore[attr-defined]
    ran = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.update(app=app, **kw))
    monkeypatch.delenv("PROMPTOPT_UI_TOKEN", raising=False)
    out = io.StringIO()
    serve(f"sqlite:///{tmp_path}/s.db", port=9, out=out)
    token = re.search(r"token for actions .*: (\S+)\n", out.getvalue()).group(1)
    assert (ran["host"], ran["port"]) == ("127.0.0.1", 9)
    client = TestClient(ran["app"], base_url="http://127.0.0.1:9")
    response = client.post(
        "/act/approve",
        data={"u": JANE_U, "version": "4"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.json()["ok"] is True


def test_pages_forbid_scripts_framing_and_foreign_hosts(demo, client):
    headers = client.get("/users").headers
    assert "script-src 'none'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    guarded = TestClient(create_app(demo.store, token=TOKEN, allowed_hosts=["127.0.0.1"]))
    assert guarded.get("/users", headers={"host": "rebound.attacker.example"}).status_code == 400
    assert guarded.get("/users", headers={"host": "127.0.0.1:8765"}).status_code == 200


def test_stored_text_is_escaped(demo, client):
    for path in ("/quarantined", f"/feedback?u={JANE_Q}", f"/user?u={JANE_Q}"):
        html = client.get(path).text
        assert "<script>window.__promptopt_xss" not in html
        if path != f"/user?u={JANE_Q}":
            assert "&lt;script&gt;window.__promptopt_xss" in html
    assert INJECTED_FEEDBACK.startswith("Ignore")
    # a user id with markup is a user id, not markup
    demo.ask("<img src=x onerror=alert(1)>")
    users = client.get("/users").text
    assert "<img src=x" not in users
    assert "&lt;img src=x onerror=alert(1)&gt;" in users


def test_errors_are_messages_not_stack_traces(demo, client):
    csrf = sign_in(client)
    response = act(client, "approve", csrf, version=3)  # v3 is active
    assert response.status_code == 200
    assert "only pending versions can be approved" in response.text
    assert 'class="flash error"' in response.text
    assert "Traceback" not in response.text
    missing = client.get("/user?u=nobody")
    assert missing.status_code == 404
    assert "nobody" in missing.text
    assert "Traceback" not in missing.text
    assert client.get(f"/diff?u={JANE_Q}&a=1&b=99").status_code == 404
    unknown = act(client, "release-feedback", csrf, feedback_id="0" * 32)
    assert "Traceback" not in unknown.text
    assert 'class="flash error"' in unknown.text


def test_a_busy_namespace_is_a_message_and_changes_nothing(demo):
    layout = StoreLayout()
    assert drive(layout.acquire_lease(UserRef.of(JANE), "an-optimizer", 60), demo.store)
    client = TestClient(create_app(PromptRegistry(demo.store, lease_wait=0.2), token=TOKEN))
    csrf = sign_in(client)
    response = act(client, "approve", csrf, version=4)
    assert 'class="flash error"' in response.text
    assert "retry" in response.text
    bearer = client.post(
        "/act/approve",
        data={"u": JANE_U, "version": "4"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert bearer.status_code == 503
    assert "retry" in bearer.json()["error"]
    assert PromptRegistry(demo.store).version(JANE, 4).status == "pending"


def test_release_discard_rollback_and_resume(demo, client):
    registry = PromptRegistry(demo.store)
    (item,) = registry.quarantined_feedback()
    csrf = sign_in(client)
    released = act(client, "release-feedback", csrf, feedback_id=item.id, note="reviewed")
    assert f"feedback {item.id} of {JANE} is now pending" in released.text
    assert registry.quarantined_feedback() == []
    assert (
        "now discarded" not in act(client, "discard-feedback", csrf, feedback_id=item.id).text
    )  # no longer quarantined: refused with a message
    resumed = act(client, "resume", csrf, note="checked")
    assert "resumed" in resumed.text
    assert registry.paused(JANE) is None
    assert registry.paused_lineages() == []
    rolled = act(client, "rollback", csrf, version=2, note="v2 was fine")
    assert "rolled back to v2" in rolled.text
    current = registry.current(JANE)
    assert current.text == registry.version(JANE, 2).text
    assert current.review["note"] == "v2 was fine"


def test_discard_from_the_quarantine_page(demo, client):
    registry = PromptRegistry(demo.store)
    (item,) = registry.quarantined_feedback()
    csrf = sign_in(client)
    page = client.get("/quarantined").text
    assert f'name="feedback_id" value="{item.id}"' in page
    response = act(client, "discard-feedback", csrf, feedback_id=item.id, next="/quarantined")
    assert "is now discarded" in response.text
    assert registry.feedback(JANE, status="discarded")[0].id == item.id


def test_new_record_fields_show_up_without_a_template_change():
    Extended = make_dataclass(
        "Extended", [("canary", dict, None)], bases=(PromptVersion,), frozen=True, slots=True
    )
    version = Extended(
        prompt="system",
        version=2,
        text="t",
        status="pending",
        created_at=datetime.now(UTC),
        reason="r",
        canary={"share": 0.1},
    )
    assert extra_fields(version, VERSION_FIELDS) == [("canary", {"share": 0.1})]


def test_word_diff_marks_changed_words_only():
    d = word_diff("Sign as Jane.\nBe brief.", "Sign as John.\nBe brief.")
    assert [(s.kind, s.text) for s in d.left] == [
        ("same", "Sign as "),
        ("removed", "Jane."),
        ("same", "\nBe brief."),
    ]
    assert [s.text for s in d.right if s.kind == "added"] == ["John."]
    assert (d.removed, d.added) == (1, 1)
    assert word_diff("a  b", "a b").equal


def test_charts_mark_events_and_count_feedback_per_day():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    svg = score_chart(
        [ServedVersion(1, t0, 1.0, 3), ServedVersion(2, t0 + timedelta(hours=1), 0.0, 3)],
        [
            Marker(3, t0 + timedelta(hours=2), "rollback", "v3: <rollback>"),
            Marker(3, t0 + timedelta(hours=2), "pause", "paused"),
        ],
        now=t0 + timedelta(hours=3),
    )
    assert svg.count('class="marker rollback"') == 1
    assert svg.count('class="marker pause"') == 1
    assert "&lt;rollback&gt;" in svg
    assert "<rollback>" not in svg
    assert "v2: mean 0.00 over 3 scored run(s)" in svg
    bars = feedback_chart(
        [(t0, "consumed"), (t0, "consumed"), (t0 + timedelta(days=2), "quarantined")],
        today=date(2026, 1, 3),
    )
    assert "2026-01-01: 2 consumed" in bars
    assert "2026-01-03: 1 quarantined" in bars


@dataclass
class _Seen:
    statuses: list[int]


async def test_pages_and_actions_never_block_the_event_loop(tmp_path):
    from langchain_prompt_optimization import open_store

    uri = f"sqlite:///{tmp_path}/review.db"
    seed = open_store(uri)
    build_review_demo(seed)
    seed.conn.close()  # type: ignore[attr-defined]
    app = create_app(uri, token=TOKEN)  # a sync SqliteStore: its calls go to worker threads
    transport = httpx.ASGITransport(app=app)
    seen = _Seen([])
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        with _detector():
            for path in ("/users", f"/user?u={JANE_Q}", "/queue", "/quarantined", "/paused"):
                seen.statuses.append((await client.get(path)).status_code)
            response = await client.post(
                "/act/approve",
                data={"u": JANE_U, "version": "4"},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
    assert seen.statuses == [200] * 5
    assert response.json()["ok"] is True
    assert PromptRegistry(uri).current(JANE).version == 4


def test_evaluator_and_people_feedback_are_shown_apart():
    from tests.conftest import make_harness
    from tests.test_evaluators import DRAIN, sign_judge

    store = InMemoryStore()
    h = make_harness(store, evaluators=[sign_judge], optimize_every=10)
    run = h.ask("u")
    assert h.middleware.drain(DRAIN)
    h.middleware.add_feedback(run["trajectory_id"], "Too long.", score=0.0)
    h.middleware.close()
    page = TestClient(create_app(store, token=TOKEN)).get("/feedback?u=u").text
    sources = page[page.index('<table class="sources">') : page.index('<table class="feedback">')]
    assert re.search(r"<td>evaluator</td><td>evaluator:sign_off</td>\s*<td>pending 1</td>", sources)
    assert re.search(r"<td>people</td><td>api</td>\s*<td>pending 1</td>", sources)
