"""Issue 16, "the product face, second pass", in a real browser: each item a person or an admin met, as they meet it.

Honest about each provider (how to answer in Outlook, the warning before a Google dedicated calendar), what the
calendar shows (full, title and time, busy only) and when each event was last synced, badges that blame the right
thing, and the rough edges (confirmation before Disconnect, every form error at once, the real zone in the hint,
Resync's notices, one term for "no answer", the OAuth refusal in the site's layout, the admin page on a phone, the
favicon, the sandbox's pages).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from calsync.core.connection import ConnectionStatus, Provider
from calsync.core.model import Role
from calsync.core.plan import Synced
from calsync.core.validation import shorten
from calsync.store.connections import ConnectionRepository
from calsync.store.entries import EntryRepository
from tests.e2e.conftest import NO_PLAYWRIGHT, LiveServer, shot, sign_in, wait_until
from tests.e2e.test_stories import Story, story  # noqa: F401 - the fixture is used by name

expect = pytest.importorskip("playwright.sync_api", reason=NO_PLAYWRIGHT).expect

PHONE = {"width": 375, "height": 812}


def connect(page: Any, server: LiveServer, provider: Provider) -> None:
    page.goto(f"{server.url}/profile/calendar")
    page.get_by_test_id(f"connect-{provider.value}").click()
    page.wait_for_url(re.compile(r".*/profile/calendar\?done=connected$"))


def member_connection(server: LiveServer) -> Any:
    with server.ctx.db.session(write=False) as session:
        record = ConnectionRepository(session).latest_for_person(server.demo.login(Role.MEMBER).person.id)
    assert record is not None
    return record


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"))


# ---- honest about each provider ---------------------------------------------------------------------------------


def test_outlook_says_how_to_answer(page: Any, live_server: LiveServer) -> None:
    """With Outlook connected, Profile → Calendar (and the event page's help) says Busy = going, Tentative or
    Free = maybe, decline here."""
    sign_in(page, live_server, Role.MEMBER)
    page.goto(f"{live_server.url}/profile/calendar")
    expect(page.get_by_test_id("connect")).to_contain_text("in Outlook with Show as (Busy = going, Tentative or Free")
    connect(page, live_server, Provider.MICROSOFT)
    how = page.get_by_test_id("how-to-answer")
    expect(how).to_contain_text("Show as to Busy for going, Tentative or Free for maybe")
    expect(how).to_contain_text("Not going? Decline on the event’s page here")
    expect(page.get_by_test_id("target-warning")).to_have_count(0)  # the Google warning is Google's only
    shot(page, "face-outlook-how-to-answer")
    page.goto(f"{live_server.url}/events/{live_server.demo.events[0].id}")
    page.get_by_text("Answered in your calendar app instead?").click()
    expect(page.get_by_test_id("answer-help")).to_contain_text("Outlook: set the event’s Show as to Busy for going")


def test_google_warns_before_a_dedicated_calendar_and_offers_it_once(page: Any, live_server: LiveServer) -> None:
    """Before the choice the page warns that a dedicated Google calendar has no Yes / Maybe / No; once created,
    "Create a dedicated calendar" is no longer offered and the help says to answer here."""
    sign_in(page, live_server, Role.MEMBER)
    connect(page, live_server, Provider.GOOGLE)
    expect(page.get_by_test_id("how-to-answer")).to_contain_text("use Yes / Maybe / No on the event")
    warning = page.get_by_test_id("target-warning")
    expect(warning).to_contain_text("Google shows Yes / Maybe / No only in your main calendar")
    expect(page.get_by_label("Send events to")).to_have_attribute("aria-describedby", "target-warning")
    page.get_by_label("Send events to").select_option(label="Create a dedicated calendar for Fernhill Studio events")
    page.get_by_test_id("target-form").get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("target-name")).to_contain_text("Events go to Fernhill Studio events")
    expect(page.get_by_test_id("create-dedicated")).to_have_count(0)
    expect(page.get_by_label("Send events to").locator("option", has_text="Fernhill Studio events")).to_have_count(1)
    expect(page.get_by_test_id("how-to-answer")).to_contain_text("Google shows no Yes / Maybe / No")
    shot(page, "face-google-dedicated")


# ---- in control: what the calendar shows, last synced --------------------------------------------------------


def test_display_choice_updates_the_entries_already_there(story: Any) -> None:  # noqa: F811 - the fixture
    """Busy only turns every existing entry into "Busy" (no title, no place); Title and time only brings titles
    back; the event page says when and how the entry was last synced; the sandbox shows the two-day offsite as two
    days."""
    s: Story = story(Provider.GOOGLE)
    planning, offsite = s.server.demo.events[0], s.server.demo.events[3]  # Max accepted both in the demo
    s.connect()
    s.wait_titles(lambda t: planning.title in t and offsite.title in t, "the accepted events in the calendar")
    days = str(s.item(offsite.title).get_by_test_id("event-time").inner_text())
    assert " to " in days and "(all day, 2 days)" in days, f"the two-day event shows both days: {days!r}"
    s.wait_badge(planning, "In your Google Calendar")
    s.page.goto(f"{s.server.url}/events/{planning.id}")
    expect(s.page.get_by_test_id(f"synced-{planning.id}")).to_contain_text(re.compile(r"Last synced .+, via resync"))

    s.profile()
    s.page.get_by_test_id("display-busy").check()
    s.page.get_by_test_id("display-form").get_by_role("button", name="Save").click()
    expect(s.page.get_by_test_id("notice")).to_contain_text("updated to show what you chose")
    expect(s.page.get_by_test_id("display-busy")).to_be_checked()
    titles = s.wait_titles(lambda t: t and all(x == "Busy" for x in t), "every entry to read Busy")
    assert len(titles) == 2, f"the same two entries, updated in place: {titles}"
    shot(s.calendar, "face-display-busy-sandbox")
    s.page.goto(f"{s.server.url}/events/{planning.id}")
    expect(s.page.get_by_test_id(f"synced-{planning.id}")).to_contain_text("via push")

    s.profile()
    s.page.get_by_test_id("display-title_time").check()
    s.page.get_by_test_id("display-form").get_by_role("button", name="Save").click()
    s.wait_titles(lambda t: planning.title in t and "Busy" not in t, "the titles to come back")


# ---- a badge never blames the wrong thing ----------------------------------------------------------------------


def test_badges_blame_the_right_thing(page: Any, live_server: LiveServer) -> None:
    """Before connecting: "Connect your calendar". Connection in error: an event already in the calendar says it
    is there but not kept up to date, one never written says it is not; the fix is said once."""
    sign_in(page, live_server, Role.MEMBER)
    planning, offsite = live_server.demo.events[0], live_server.demo.events[3]
    badge = page.get_by_test_id(f"badge-{planning.id}")
    expect(badge).to_contain_text("Connect your calendar")
    expect(badge).not_to_contain_text("Not in your calendar")
    expect(badge.get_by_role("link")).to_have_count(1)
    assert badge.inner_text().count("Profile → Calendar") == 1

    connect(page, live_server, Provider.GOOGLE)
    record = member_connection(live_server)
    now = live_server.ctx.now()
    with live_server.ctx.db.session() as session:
        EntryRepository(session).save_synced(
            record.id, planning.id, Synced(provider_id="abc", calendar_id="primary", fingerprint="f"), now, via="push"
        )
        EntryRepository(session).mark_dirty(record.id, [offsite.id], now)
        ConnectionRepository(session).mark_auth_error(
            record.id,
            now,
            reason="Google says calsync's access was revoked. "
            "Disconnect your calendar in Profile → Calendar, then connect it again.",
            detail="invalid_grant",
            code="invalid_grant",
        )
    page.goto(f"{live_server.url}/events")
    there = page.get_by_test_id(f"badge-{planning.id}")
    expect(there).to_contain_text("In your Google Calendar, not kept up to date")
    expect(there).not_to_contain_text("Not in your calendar")
    missing = page.get_by_test_id(f"badge-{offsite.id}")
    expect(missing).to_contain_text("Not in your calendar")
    for b in (there, missing):
        assert b.inner_text().count("then connect it again") == 1, b.inner_text()
    page.goto(f"{live_server.url}/profile/calendar")
    alert = page.get_by_test_id("connection-error")
    text = alert.inner_text()
    assert "then connect it again" not in text and text.count("then connect again") == 1, "the fix, said once"
    shot(page, "face-badges-error")


# ---- rough edges ------------------------------------------------------------------------------------------------


def test_disconnect_asks_first_and_says_what_goes(page: Any, live_server: LiveServer) -> None:
    """Disconnect asks for confirmation; with "remove entries" ticked the question names what will be removed;
    dismissing it keeps the connection."""
    sign_in(page, live_server, Role.MEMBER)
    connect(page, live_server, Provider.GOOGLE)
    record = member_connection(live_server)
    with live_server.ctx.db.session() as session:
        for event in live_server.demo.events[:2]:
            EntryRepository(session).save_synced(
                record.id, event.id, Synced(provider_id=f"p{event.id}", calendar_id="primary"), live_server.ctx.now()
            )
    page.reload()
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_test_id("remove-entries").check()
    page.get_by_role("button", name="Disconnect").click()
    wait_until(lambda: asked, timeout=10, what="the confirmation")
    assert "remove the 2 events calsync added to your calendar" in asked[0], asked
    expect(page.get_by_test_id("connected-as")).to_be_visible()
    assert member_connection(live_server).status is ConnectionStatus.CONNECTED

    page.get_by_test_id("remove-entries").uncheck()
    page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    page.get_by_role("button", name="Disconnect").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Your calendar is disconnected.")
    assert "stay in your calendar" in asked[-1], asked


def test_event_form_shows_every_error_at_once_and_the_real_zone(page: Any, live_server: LiveServer) -> None:
    """The issue's case: an empty title, a bad zone and an end before the start are all shown after one submit
    (they took three); editing another organizer's zone-less event names that organizer's zone in the hint."""
    sign_in(page, live_server, Role.ORGANIZER)
    page.goto(f"{live_server.url}/events/new")
    expect(page.locator("#timezone-hint")).to_contain_text("Leave empty to use yours: America/New_York.")
    page.get_by_label("Time zone").fill("Europe/Pariss")
    page.get_by_label("Starts").fill("2031-05-06T10:00")
    page.get_by_label("Ends").fill("2031-05-06T09:00")
    page.get_by_role("button", name="Create event").click()
    expect(page.get_by_test_id("form-errors")).to_contain_text("Please fix the 3 fields")
    expect(page.get_by_test_id("error-title")).to_be_visible()
    expect(page.get_by_test_id("error-timezone")).to_contain_text("Europe/Pariss")
    expect(page.get_by_test_id("error-end")).to_contain_text("must be after start")
    shot(page, "face-form-errors")
    page.get_by_label("Time zone").fill("Europe/Paris")  # a real zone: the times are checked in it
    page.get_by_role("button", name="Create event").click()
    expect(page.get_by_test_id("form-errors")).to_contain_text("Please fix the 2 fields")
    expect(page.get_by_test_id("error-end")).to_contain_text("in Europe/Paris")

    admin = page.context.browser.new_context(ignore_https_errors=True).new_page()
    sign_in(admin, live_server, Role.ADMIN)  # Ada is in Europe/Berlin; the office hours are Olivia's, New York
    office_hours = live_server.demo.events[2]
    admin.goto(f"{live_server.url}/events/{office_hours.id}/edit")
    expect(admin.locator("#timezone-hint")).to_contain_text("Leave empty to use the organizer’s: America/New_York.")
    admin.context.close()


def test_no_answer_yet_is_the_one_term(page: Any, live_server: LiveServer) -> None:
    """An invited person who has not answered reads "No answer yet" on the list, the event and the organizer's
    answers table; "Needs action" appears nowhere."""
    sign_in(page, live_server, Role.ORGANIZER)
    all_hands = live_server.demo.events[4]
    page.goto(f"{live_server.url}/events/{live_server.demo.events[0].id}")
    expect(page.get_by_test_id("answers")).to_contain_text("No answer yet")
    for url in ("/events", f"/events/{all_hands.id}"):
        page.goto(f"{live_server.url}{url}")
        expect(page.locator("main")).not_to_contain_text("Needs action")
    expect(page.get_by_test_id(f"answer-{all_hands.id}")).to_have_text("No answer yet")


def test_oauth_refusal_has_the_sites_layout(page: Any, live_server: LiveServer) -> None:
    """A refused callback is a page of the site: navigation, the site's stylesheet, a sentence-case message."""
    sign_in(page, live_server, Role.MEMBER)
    response = page.goto(f"{live_server.url}/oauth/google/callback?state=forged&code=x")
    assert response is not None and response.status == 400
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    message = page.get_by_test_id("connect-message").inner_text()
    assert message[:1].isupper() and message.endswith("."), message
    font = page.evaluate("() => getComputedStyle(document.body).fontFamily")
    assert "Times" not in font and "system-ui" in font, font
    expect(page.get_by_test_id("connect-back")).to_have_attribute("href", "/profile/calendar")


def test_admin_page_on_a_phone(page: Any, live_server: LiveServer) -> None:
    """The chart note does not say the lag "is not recorded"; a provider's long error is cut at a word, never
    mid-word; at 375 px nothing scrolls sideways."""
    sign_in(page, live_server, Role.MEMBER)
    connect(page, live_server, Provider.MICROSOFT)
    record = member_connection(live_server)
    # What the token refresher logs for Graph's long AADSTS50173 text (calsync/sync/tokens.py): cut at 300.
    long_text = (
        "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. The "
        "user might have changed or reset their password. The grant was issued on '2026-12-01T10:00:00Z' and the "
        "TokensValidFrom date (before which tokens are not valid) for this user is '2026-12-02T09:00:00Z'. Trace "
        "ID: 0000aaaa-1111-2222-3333-444455556666 Correlation ID: 7777bbbb-8888-9999-aaaa-bbbbccccdddd"
    )
    with live_server.ctx.db.session() as session:
        ConnectionRepository(session).log(
            record.id, live_server.ctx.now(), "auth-error", f"revoked ({shorten(long_text, 300)})", level="error"
        )
    admin = page.context.browser.new_context(ignore_https_errors=True, viewport=PHONE).new_page()
    sign_in(admin, live_server, Role.ADMIN)
    admin.goto(f"{live_server.url}/admin")
    expect(admin.get_by_test_id("sync-chart-note")).not_to_contain_text("not recorded")
    expect(admin.get_by_test_id("sync-chart-note")).to_contain_text("sync lag")
    shown = admin.get_by_test_id("sync-error-message").first.inner_text()
    assert shown.endswith("…)"), shown
    assert re.search(r"\b\w+…\)$", shown) and shown.split()[-1].rstrip("…)") in long_text.split(), shown
    assert no_sideways_scroll(admin), "the admin page fits 375 px"
    shot(admin, "face-admin-phone")
    admin.context.close()


def test_favicon_and_no_404s(page: Any, live_server: LiveServer) -> None:
    """Every page links the icon, /favicon.ico answers, and loading the pages requests nothing that is missing."""
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    sign_in(page, live_server, Role.ADMIN)
    for url in ("/events", "/profile/calendar", "/admin", "/support", f"/events/{live_server.demo.events[0].id}"):
        page.goto(f"{live_server.url}{url}")
        expect(page.locator("link[rel=icon]")).to_have_attribute("href", "/static/favicon.svg")
    assert page.request.get(f"{live_server.url}/favicon.ico").status == 200
    assert page.request.get(f"{live_server.url}/static/favicon.svg").status == 200
    assert missing == [], missing


def test_support_warning_is_not_drawn_as_an_error(page: Any, live_server: LiveServer) -> None:
    """An overall "Warning" is amber, not the red of an error (here: no worker runs beside the live server)."""
    sign_in(page, live_server, Role.SUPPORT)
    connect_page = page.context.browser.new_context(ignore_https_errors=True).new_page()
    sign_in(connect_page, live_server, Role.MEMBER)
    connect(connect_page, live_server, Provider.GOOGLE)
    connect_page.context.close()
    page.goto(f"{live_server.url}/support")
    page.get_by_label("Person's email").fill(live_server.email(Role.MEMBER))
    page.get_by_role("button", name="Diagnose").click()
    overall = page.get_by_test_id("overall")
    expect(overall).to_be_visible()
    verdict = overall.locator("strong").inner_text()
    classes = overall.get_attribute("class")
    expected = {"OK": "ok", "Warning": "warning", "Problem": "alert"}[verdict]
    assert classes == expected, (verdict, classes)
    colours = page.evaluate(
        """() => ['warning', 'alert'].map(c => {
            const p = document.createElement('p'); p.className = c; document.querySelector('main').append(p);
            const style = getComputedStyle(p); const out = [style.color, style.backgroundColor]; p.remove(); return out;
        })"""
    )
    assert colours[0] != colours[1], f"a Warning is drawn unlike a Problem: {colours}"
    assert colours[1][0] == "rgb(179, 38, 30)" and colours[0][0] != colours[1][0], colours


# ---- the sandbox's pages ------------------------------------------------------------------------------------


def test_sandbox_index_and_microsoft_consent(page: Any, live_server: LiveServer) -> None:
    """The sandbox index is styled; Microsoft's consent page names the app, not its GUID, and Accept is primary."""
    base = live_server.sandbox.base_url
    live_server.sandbox.sandbox.microsoft.create_account("max@example.org")
    page.goto(f"{base}/")
    font = page.evaluate("() => getComputedStyle(document.body).fontFamily")
    assert "Times" not in font and "system-ui" in font, font
    expect(page.get_by_test_id("accounts")).to_contain_text("max@example.org")
    assert no_sideways_scroll(page)

    calsync = page.context.browser.new_context(ignore_https_errors=True).new_page()
    sign_in(calsync, live_server, Role.MEMBER)
    calsync.goto(f"{live_server.url}/profile/calendar")
    token = calsync.locator('input[name="csrf_token"]').first.get_attribute("value")
    start = calsync.request.post(
        f"{live_server.url}/connect/microsoft", form={"csrf_token": token or ""}, max_redirects=0
    )
    calsync.context.close()
    authorize = start.headers["location"]
    authorize = re.sub(r"([?&])login_hint=[^&]*", r"\1", authorize)
    page.goto(authorize)
    expect(page.get_by_role("heading", name="Permissions requested")).to_be_visible()
    app = page.get_by_test_id("consent-app").inner_text()
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", app), app
    expect(page.locator("main")).not_to_contain_text(re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}"))
    expect(page.get_by_test_id("consent-accept")).to_have_class(re.compile(r"\bprimary\b"))
    shot(page, "face-sandbox-consent")
