"""Screenshot of the dashboard's lineage page for the README (`make screenshot`).

Builds the scripted review demo (`testing.review_data`) in memory, serves the dashboard on a
free loopback port and takes a full-page screenshot with Debian's chromium through
Playwright. Usage: `python docs/screenshot.py docs/img/lineage.png`.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from urllib.parse import quote

from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization.review.dashboard import create_app
from langchain_prompt_optimization.review.dashboard.server import serve_in_thread
from langchain_prompt_optimization.stores import UserRef
from langchain_prompt_optimization.testing.review_data import build_review_demo

CHROMIUM = os.environ.get("PROMPTOPT_CHROMIUM", "/usr/bin/chromium")


def main(argv: list[str]) -> int:
    target = Path(argv[1] if len(argv) > 1 else "docs/img/lineage.png")
    logging.disable(logging.WARNING)  # the demo's auto-rollback warning
    demo = build_review_demo(InMemoryStore())
    label = quote(UserRef.of(demo.paused_user).label, safe="")
    from playwright.sync_api import sync_playwright

    with (
        serve_in_thread(create_app(demo.store, token="screenshot-token")) as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(f"{url}/user?u={label}")
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target), full_page=True)
        browser.close()
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
