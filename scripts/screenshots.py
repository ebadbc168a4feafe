"""Regenerate the README's screenshots from a running `calsync demo` (Chromium via Playwright).

    CALSYNC_DATA_DIR=/tmp/shots .venv/bin/calsync demo --port 8125 --sandbox-port 8444 &
    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8125 https://127.0.0.1:8444

It signs in as the demo member, connects Google Calendar through the sandbox's consent page, accepts an event,
waits for the badge to say it is in the calendar, and saves docs/images/{events,profile-calendar,sandbox-calendar}.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run",
        "--disable-component-update", "--disable-sync"]
OUT = Path(__file__).resolve().parent.parent / "docs" / "images"


def main(base: str, sandbox: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_context(ignore_https_errors=True, viewport={"width": 1000, "height": 900}).new_page()
        page.goto(f"{base}/signin")
        page.fill("input[name=email]", "max@example.org")
        page.fill("input[name=password]", "calsync-demo-events")
        page.click("button[type=submit]")
        page.goto(f"{base}/profile/calendar")
        page.click("text=Connect Google Calendar")
        page.click("[data-testid=consent-allow]")
        page.wait_for_url(f"{base}/profile/calendar**")
        page.goto(f"{base}/events")
        card = page.locator("article, li, section").filter(has_text="Team lunch in Tokyo").first
        card.get_by_role("button", name="Tentative").click()
        for _ in range(50):
            page.goto(f"{base}/events")
            if page.get_by_text("In your Google Calendar").count() >= 3:
                break
            page.wait_for_timeout(200)
        expect(page.get_by_text("In your Google Calendar").first).to_be_visible()
        page.screenshot(path=str(OUT / "events.png"), full_page=True)
        page.goto(f"{base}/profile/calendar")
        page.screenshot(path=str(OUT / "profile-calendar.png"), full_page=True)
        page.goto(f"{sandbox}/calendar/google/max@example.org")
        page.screenshot(path=str(OUT / "sandbox-calendar.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
