"""Every page passes an axe-core scan (the engine bundled by ``axe-playwright-python``) with no serious or critical
violation, at a desktop width and at 375 px (issue 16, "Done means")."""

from __future__ import annotations

import re
from typing import Any

import pytest

from calsync.core.connection import Provider
from calsync.core.model import Role
from tests.e2e.conftest import NO_PLAYWRIGHT, LiveServer, sign_in

pytest.importorskip("playwright.sync_api", reason=NO_PLAYWRIGHT)
axe_sync = pytest.importorskip(
    "axe_playwright_python.sync_playwright", reason="pip install 'axe-playwright-python>=0.1.8' into .venv"
)

WIDTHS = [pytest.param(1000, id="desktop"), pytest.param(375, id="phone")]
BLOCKING = {"serious", "critical"}


def blocking_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each (rule, impact, where)."""
    results = axe_sync.Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in BLOCKING:
            targets = [" ".join(map(str, n.get("target", []))) for n in violation.get("nodes", [])][:3]
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return found


def scan(page: Any, url: str, problems: dict[str, list[str]]) -> None:
    page.goto(url)
    found = blocking_violations(page)
    if found:
        problems[url] = found


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_passes_axe(chromium: Any, live_server: LiveServer, width: int) -> None:
    """Sign-in, events, an event, the organizer's forms (with errors), Profile → Calendar (before and after
    connecting), admin, support (with a diagnosis), an error page, a refused connect, and the sandbox's index,
    calendar pages and Microsoft's consent page: no serious or critical axe-core violation."""
    base = live_server.url
    problems: dict[str, list[str]] = {}
    contexts = []

    def new_page() -> Any:
        context = chromium.new_context(ignore_https_errors=True, viewport={"width": width, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    try:
        anonymous = new_page()
        scan(anonymous, f"{base}/signin", problems)

        member = new_page()
        sign_in(member, live_server, Role.MEMBER)
        event = live_server.demo.events[0]
        for url in ("/events", f"/events/{event.id}", "/events/999999", "/profile/calendar"):
            scan(member, f"{base}{url}", problems)
        member.get_by_test_id(f"connect-{Provider.GOOGLE.value}").click()
        member.wait_for_url(re.compile(r".*/profile/calendar\?done=connected$"))
        scan(member, f"{base}/profile/calendar", problems)
        scan(member, f"{base}/oauth/google/callback?state=forged&code=x", problems)
        sandbox = live_server.sandbox.base_url
        email = live_server.email(Role.MEMBER)
        live_server.sandbox.sandbox.microsoft.create_account(email)
        for url in ("/", f"/calendar/google/{email}", f"/calendar/microsoft/{email}"):
            scan(member, f"{sandbox}{url}", problems)
        member.goto(f"{base}/profile/calendar")
        token = member.locator('input[name="csrf_token"]').first.get_attribute("value")
        start = member.request.post(f"{base}/connect/microsoft", form={"csrf_token": token or ""}, max_redirects=0)
        scan(member, re.sub(r"([?&])login_hint=[^&]*", r"\1", start.headers["location"]), problems)  # consent

        organizer = new_page()
        sign_in(organizer, live_server, Role.ORGANIZER)
        scan(organizer, f"{base}/events/new", problems)
        organizer.get_by_role("button", name="Create event").click()  # every field error at once
        found = blocking_violations(organizer)
        if found:
            problems["/events/new (with errors)"] = found
        scan(organizer, f"{base}/events/{event.id}/edit", problems)

        admin = new_page()
        sign_in(admin, live_server, Role.ADMIN)
        scan(admin, f"{base}/admin", problems)
        scan(admin, f"{base}/support", problems)
        admin.get_by_label("Person's email").fill(live_server.email(Role.MEMBER))
        admin.get_by_role("button", name="Diagnose").click()
        admin.get_by_test_id("diagnosis").wait_for()
        found = blocking_violations(admin)
        if found:
            problems["/support (a diagnosis)"] = found
    finally:
        for context in contexts:
            context.close()
    assert not problems, "\n".join(f"{url}: {p}" for url, found in problems.items() for p in found)
