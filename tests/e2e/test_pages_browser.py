"""The pages in a real browser: sign in, RSVP and its badge, organizer forms, Profile → Calendar through the
sandbox's consent flow, admin, and keyboard use."""

from __future__ import annotations

import re
from typing import Any

import pytest

from calsync.core.connection import Provider
from calsync.core.model import Role
from calsync.services.demo import DEMO_PASSWORD
from calsync.store.connections import ConnectionRepository, RoundResult
from tests.e2e.conftest import NO_PLAYWRIGHT, LiveServer, shot, sign_in

expect = pytest.importorskip("playwright.sync_api", reason=NO_PLAYWRIGHT).expect

PROVIDERS = [pytest.param(Provider.GOOGLE, id="google"), pytest.param(Provider.MICROSOFT, id="microsoft")]


def finish_full_sync(server: LiveServer, role: Role) -> None:
    """Record a finished full reconcile on the person's connection, as the sync engine does."""
    with server.ctx.db.session() as session:
        repo = ConnectionRepository(session)
        record = repo.active_for_person(server.demo.login(role).person.id)
        assert record is not None
        calendar = record.target_calendar_id or "primary"
        result = RoundResult(record.cursor, calendar, record.next_poll_at, pulled=False, full=True, clean=True)
        repo.record_round(record, server.ctx.now(), result)


def nav(page: Any, name: str) -> Any:
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name)


def event_card(page: Any, title: str) -> Any:
    return page.locator("li.event").filter(has=page.get_by_role("heading", name=title))


def test_sign_in_see_events_and_accept(page: Any, live_server: LiveServer) -> None:
    """A member signs in, sees the events, accepts one, and its badge says to connect a calendar (once)."""
    sign_in(page, live_server, Role.MEMBER)
    expect(page.get_by_role("heading", name="Upcoming events")).to_be_visible()
    card = event_card(page, "Team lunch in Tokyo")
    expect(card.locator("[data-testid^=answer-]")).to_have_text("No answer yet")
    expect(card.locator(".badge")).to_have_count(0)
    card.get_by_role("button", name="Accept").click()
    card = event_card(page, "Team lunch in Tokyo")
    expect(card.locator("[data-testid^=answer-]")).to_have_text("Accepted")
    expect(card.get_by_role("button", name="Accept")).to_have_attribute("aria-pressed", "true")
    expect(card.locator(".badge")).to_contain_text("Connect your calendar")
    fix = "Connect Google Calendar or Outlook in Profile → Calendar."
    expect(card.locator(".badge").get_by_role("link")).to_have_text(fix)
    shot(page, "events")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    box = card.get_by_role("button", name="Decline").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390, "the RSVP buttons fit a phone's width"
    shot(page, "events-phone")
    page.set_viewport_size({"width": 1000, "height": 900})
    card.get_by_role("button", name="Decline").click()
    expect(event_card(page, "Team lunch in Tokyo").locator(".badge")).to_have_count(0)


def test_organizer_creates_and_edits_an_event(page: Any, live_server: LiveServer) -> None:
    """The organizer's form shows a field error, then creates the event; editing it updates the page."""
    sign_in(page, live_server, Role.ORGANIZER)
    page.get_by_role("link", name="New event").click()
    page.get_by_label("Title").fill("Design review")
    page.get_by_label("Location").fill("Room 4")
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_label("Starts").fill("2031-05-06T10:00")
    page.get_by_label("Ends").fill("2031-05-06T09:00")
    page.get_by_role("button", name="Create event").click()
    expect(page.get_by_test_id("error-end")).to_contain_text("must be after start")
    expect(page.get_by_label("Title")).to_have_value("Design review")
    shot(page, "event-form-error")
    page.get_by_label("Ends").fill("2031-05-06T11:00")
    page.get_by_role("button", name="Create event").click()
    expect(page.get_by_test_id("notice")).to_have_text("Event created.")
    expect(page.get_by_role("heading", name="Design review")).to_be_visible()
    page.get_by_role("link", name="Edit event").click()
    page.get_by_label("Title").fill("Design review (final)")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Changes saved.")
    expect(page.get_by_role("heading", name="Design review (final)")).to_be_visible()
    expect(page.get_by_test_id("event-when")).to_contain_text("2031")
    shot(page, "event")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_profile_calendar_connect_pick_resync_disconnect(
    page: Any, live_server: LiveServer, provider: Provider
) -> None:
    """Connect through the sandbox's consent page, see "connected as", pick a calendar, Resync, disconnect."""
    sign_in(page, live_server, Role.MEMBER)
    nav(page, "Profile → Calendar").click()
    expect(page.get_by_test_id("connect-google")).to_have_text("Connect Google Calendar")
    expect(page.get_by_test_id("connect-microsoft")).to_have_text("Connect Outlook")
    shot(page, "calendar-not-connected")
    page.get_by_test_id(f"connect-{provider.value}").click()
    page.wait_for_url(re.compile(r".*/profile/calendar\?done=connected$"))
    email = live_server.email(Role.MEMBER)
    expect(page.get_by_test_id("connected-as")).to_have_text(f"Connected to {provider.label} as {email}.")
    picker = page.get_by_label("Send events to")
    expect(picker.locator("option")).not_to_have_count(1)
    shot(page, f"calendar-connected-{provider.value}")
    picker.select_option(label="Create a dedicated calendar for Fernhill Studio events")
    page.get_by_test_id("target-form").get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("target-name")).to_contain_text("Events go to Fernhill Studio events")
    page.get_by_role("button", name="Resync now").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Resync requested")
    expect(page.get_by_test_id("resync-progress")).to_contain_text("Full sync in progress")
    finish_full_sync(live_server, Role.MEMBER)  # what the engine records when its reconcile is done
    expect(page.get_by_test_id("resync-progress")).to_contain_text("Resync finished: last synced just now")
    expect(page.get_by_test_id("notice")).to_have_count(0)  # "Resync requested" gives way to "Resync finished"
    nav(page, "Events").click()
    accepted = event_card(page, "Quarterly planning")
    expect(accepted.locator(".badge")).to_contain_text("Syncing…")
    nav(page, "Profile → Calendar").click()
    page.get_by_label(re.compile(r"Also remove the \d+ events? calsync added to your calendar")).check()
    page.once("dialog", lambda dialog: dialog.accept())  # Disconnect asks first (tests/e2e/test_face_browser.py)
    page.get_by_role("button", name="Disconnect").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Your calendar is disconnected.")
    expect(page.get_by_test_id("was-connected")).to_contain_text(f"You disconnected {provider.label}")


def test_admin_page(page: Any, live_server: LiveServer) -> None:
    """The admin sees modules, connection counts, workers and errors."""
    sign_in(page, live_server, Role.ADMIN)
    nav(page, "Admin").click()
    expect(page.get_by_test_id("module-events")).to_contain_text("on")
    expect(page.get_by_test_id("workers-alive")).to_be_visible()
    expect(page.get_by_test_id("connection-counts")).to_contain_text("Connected: 0")
    shot(page, "admin")


def _tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has focus (bounded)."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never received focus with Tab")


def test_keyboard_only_sign_in_and_rsvp(page: Any, live_server: LiveServer) -> None:
    """With only Tab, typing and Enter a person signs in and answers an event."""
    page.goto(f"{live_server.url}/signin")
    _tab_to(page, "#email")
    page.keyboard.type(live_server.email(Role.MEMBER))
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/events")
    event = live_server.demo.events[4]  # All-hands: Max has not answered it
    _tab_to(page, f"[data-testid=rsvp-{event.id}] button[value=tentative]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/events#event-{event.id}$"))
    expect(page.get_by_test_id(f"answer-{event.id}")).to_have_text("Tentative")


def test_change_password_then_sign_in_with_the_new_one(page: Any, live_server: LiveServer) -> None:
    """Profile → Password: a guessable new password is refused next to its field with what to do; a good one is
    accepted, this browser stays signed in, and after signing out only the new password works."""
    sign_in(page, live_server, Role.MEMBER)
    nav(page, "Password").click()
    page.get_by_label("Current password").fill(DEMO_PASSWORD)
    page.get_by_label("New password", exact=True).fill("password1234")
    page.get_by_label("New password again").fill("password1234")
    page.get_by_test_id("change-password").click()
    expect(page.get_by_test_id("error-new_password")).to_contain_text("too easy to guess")
    expect(page.get_by_label("New password", exact=True)).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Current password").fill(DEMO_PASSWORD)
    page.get_by_label("New password", exact=True).fill("violet tandem orchard")
    page.get_by_label("New password again").fill("violet tandem orchard")
    page.get_by_test_id("change-password").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Your password was changed.")
    shot(page, "password-changed")
    nav(page, "Events").click()
    page.wait_for_url(f"{live_server.url}/events")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server.url}/signin")
    page.get_by_label("Email").fill(live_server.email(Role.MEMBER))
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signin-error")).to_contain_text("The email or password is wrong")
    page.get_by_label("Password").fill("violet tandem orchard")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/events")
