"""Every story of the seeds' "Calendar Sync Issues" page, walked in a real browser against the sandbox with the sync
engine running (a worker thread, push notifications to the live server, a one-second poll), for both providers.

The person is the demo's Max (a member); the organizer is the demo's Olivia. Each wait reloads a page until a
condition holds, within a bound (``wait_until``): the engine is asynchronous, so nothing here sleeps and hopes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest

from calsync.core.connection import Provider
from calsync.core.model import Event, Role
from calsync.store.connections import ConnectionRecord, ConnectionRepository
from tests.e2e.conftest import NO_PLAYWRIGHT, LiveServer, shot, sign_in, wait_until

expect = pytest.importorskip("playwright.sync_api", reason=NO_PLAYWRIGHT).expect

PROVIDERS = [pytest.param(Provider.GOOGLE, id="google"), pytest.param(Provider.MICROSOFT, id="microsoft")]
BADGE_IN = {Provider.GOOGLE: "In your Google Calendar", Provider.MICROSOFT: "In your Outlook calendar"}
# The sandbox calendar pages (calsync/sandbox/*/pages.py): one item per event, its title, its time.
ITEM = {Provider.GOOGLE: "li.event", Provider.MICROSOFT: "article.event"}
TITLE = {Provider.GOOGLE: "[data-testid=event-title]", Provider.MICROSOFT: "[data-testid=event-subject]"}
TIME = {Provider.GOOGLE: "[data-testid=event-time]", Provider.MICROSOFT: "[data-testid=event-when]"}
# The organizer's zone as each calendar names it: IANA at Google, the Windows name at Graph (provider-facts §3).
ZONE_LABEL = {Provider.GOOGLE: "America/New_York", Provider.MICROSOFT: "Eastern Standard Time"}
DELETE = {Provider.GOOGLE: "event-delete", Provider.MICROSOFT: "delete-event"}


class Story:
    """The person's two tabs (calsync and their calendar at the sandbox) and the organizer's calsync tab."""

    def __init__(self, server: LiveServer, provider: Provider, person: Any, calendar: Any, organizer: Any) -> None:
        self.server = server
        self.provider = provider
        self.page = person
        self.calendar = calendar
        self.organizer = organizer
        self.email = server.email(Role.MEMBER)
        self.calendar_url = f"{server.sandbox.base_url}/calendar/{provider.value}/{self.email}"

    # ---- calsync, as the person ------------------------------------------------------------------------------
    def events_page(self) -> None:
        self.page.goto(f"{self.server.url}/events")

    def badge(self, event: Event) -> str:
        badge = self.page.get_by_test_id(f"badge-{event.id}")
        return str(badge.inner_text()) if badge.count() else ""

    def wait_badge(self, event: Event, text: str, *, timeout: float = 30.0) -> None:
        def seen() -> bool:
            self.events_page()
            return text in self.badge(event)

        wait_until(seen, timeout=timeout, what=f"the badge of {event.title!r} to say {text!r}")

    def answer(self, event: Event, button: str) -> None:
        self.events_page()
        self.page.get_by_test_id(f"rsvp-{event.id}").get_by_role("button", name=button).click()
        expect(self.page.get_by_test_id(f"answer-{event.id}")).to_have_text(
            {"Accept": "Accepted", "Decline": "Declined", "Tentative": "Tentative"}[button]
        )

    def profile(self) -> None:
        self.page.goto(f"{self.server.url}/profile/calendar")

    def connect(self) -> None:
        self.profile()
        self.page.get_by_test_id(f"connect-{self.provider.value}").click()
        self.page.wait_for_url(re.compile(r".*/profile/calendar\?done=connected$"))
        expect(self.page.get_by_test_id("connected-as")).to_have_text(
            f"Connected to {self.provider.label} as {self.email}."
        )

    # ---- the person's calendar at the sandbox ------------------------------------------------------------------
    def titles(self) -> list[str]:
        """The titles on the person's calendar page now (reloaded)."""
        self.calendar.goto(self.calendar_url)
        titles = self.calendar.locator(f"{ITEM[self.provider]} {TITLE[self.provider]}").all_inner_texts()
        return [str(t) for t in titles]

    def item(self, title: str) -> Any:
        return self.calendar.locator(ITEM[self.provider]).filter(
            has=self.calendar.locator(TITLE[self.provider], has_text=re.compile(rf"^{re.escape(title)}$"))
        )

    def wait_titles(self, check: Callable[[list[str]], bool], what: str, *, timeout: float = 30.0) -> list[str]:
        """Reload the calendar page until its titles pass ``check``; returns them."""

        def attempt() -> tuple[list[str]] | None:
            titles = self.titles()
            return (titles,) if check(titles) else None

        found: tuple[list[str]] = wait_until(attempt, timeout=timeout, what=what)
        return found[0]

    # ---- the engine's record -----------------------------------------------------------------------------------
    def connection(self) -> ConnectionRecord:
        with self.server.ctx.db.session(write=False) as session:
            record = ConnectionRepository(session).latest_for_person(self.server.demo.login(Role.MEMBER).person.id)
        assert record is not None, "the person has a connection record"
        return record

    def wait_rounds(self, count: int = 2) -> None:
        """Wait for ``count`` sync rounds of the person's connection that start after now (each ends with
        ``last_success_at`` = its start), so a change made before now has been pushed and a poll has run."""
        for _ in range(count):
            since = self.server.ctx.now()

            def after(since: dt.datetime = since) -> bool:
                at = self.connection().last_success_at
                return at is not None and at > since

            wait_until(after, what="a sync round of the person's connection")

    # ---- calsync, as the organizer -----------------------------------------------------------------------------
    def organizer_edits(self, event: Event, title: str) -> None:
        self.organizer.goto(f"{self.server.url}/events/{event.id}/edit")
        self.organizer.get_by_label("Title").fill(title)
        self.organizer.get_by_role("button", name="Save changes").click()
        expect(self.organizer.get_by_test_id("notice")).to_contain_text("Changes saved.")


@pytest.fixture
def story(chromium: Any, live_engine: LiveServer, request: pytest.FixtureRequest) -> Any:
    """Three browser contexts (own cookies each): the member in calsync, the member's calendar, the organizer."""
    contexts = [
        chromium.new_context(ignore_https_errors=True, viewport={"width": 1000, "height": 900}) for _ in range(3)
    ]
    for c in contexts:
        c.set_default_timeout(15_000)
    person, calendar, organizer = (c.new_page() for c in contexts)
    sign_in(person, live_engine, Role.MEMBER)
    sign_in(organizer, live_engine, Role.ORGANIZER)
    yield lambda provider: Story(live_engine, provider, person, calendar, organizer)
    for c in contexts:
        c.close()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_seeds_stories(story: Any, provider: Provider) -> None:
    """Connect, RSVP -> entry, edit -> same entry updated, delete -> not re-created until Resync, decline in the
    calendar -> declined in calsync, zone-less event at the organizer's time, revoke -> error and fix, disconnect
    and reconnect -> no duplicates."""
    s: Story = story(provider)
    demo = s.server.demo.events
    lunch, office_hours = demo[1], demo[2]  # "Team lunch in Tokyo" (Asia/Tokyo); "Office hours" has no zone
    assert office_hours.timezone_source.value != "event", "the demo's office hours are zone-less"

    # Connecting your calendar: Profile → Calendar, the provider's consent page, back connected.
    s.connect()
    shot(s.page, f"story-connected-{provider.value}")

    # RSVP accept -> the entry appears in the calendar, and the badge says so.
    s.answer(lunch, "Accept")
    s.wait_titles(lambda t: lunch.title in t, f"{lunch.title!r} on the sandbox calendar page")
    s.wait_badge(lunch, BADGE_IN[provider])
    shot(s.page, f"story-events-in-calendar-{provider.value}")
    shot(s.calendar, f"story-sandbox-calendar-{provider.value}")

    # The organizer edits the event -> the same entry, updated: one entry, the new title, the old one gone.
    moved = "Team lunch in Tokyo (moved)"
    s.organizer_edits(lunch, moved)
    titles = s.wait_titles(lambda t: moved in t and lunch.title not in t, "the entry to carry the new title")
    assert titles.count(moved) == 1, f"one entry for the event after the edit, found {titles}"

    # Duplicate/removed: delete the entry on the calendar page -> calsync does not re-create it (even after an
    # edit and a poll) while the RSVP stands; the badge says so and Resync brings it back.
    s.calendar.goto(s.calendar_url)
    s.item(moved).get_by_test_id(DELETE[provider]).click()
    s.wait_titles(lambda t: moved not in t, "the entry to be gone from the calendar page")
    s.wait_badge(lunch, "Not in your calendar")
    assert "Resync" in s.badge(lunch), "the badge says how to bring it back"
    edited = "Team lunch in Tokyo (final)"
    s.organizer_edits(lunch, edited)
    s.wait_rounds(2)
    assert edited not in s.titles() and moved not in s.titles(), "a removed entry is not re-created by an edit"
    s.profile()
    s.page.get_by_role("button", name="Resync now").click()
    expect(s.page.get_by_test_id("notice")).to_contain_text("Resync requested")
    shot(s.page, f"story-resync-{provider.value}")
    titles = s.wait_titles(lambda t: edited in t, "Resync to bring the entry back")
    assert titles.count(edited) == 1, f"Resync brings back one entry, found {titles}"
    s.wait_badge(lunch, BADGE_IN[provider])

    # RSVP not syncing back: answer in the calendar -> the answer in calsync. Google: "No" -> Declined; Outlook:
    # Show as Free -> Tentative ("I may drop in", not "no": docs/sync.md; Outlook has no Show as for "no").
    s.calendar.goto(s.calendar_url)
    item = s.item(edited)
    if provider is Provider.GOOGLE:
        item.get_by_test_id("rsvp-declined").click()
        expected = "Declined"
    else:
        item.get_by_test_id("show-as").select_option("free")
        item.get_by_test_id("show-as-save").click()
        expected = "Tentative"

    def answered() -> bool:
        s.events_page()
        return str(s.page.get_by_test_id(f"answer-{lunch.id}").inner_text()) == expected

    wait_until(answered, what=f"the calendar's answer to show in calsync as {expected}")
    shot(s.page, f"story-declined-{provider.value}")

    # Timezone: an event created without a zone shows at the organizer's time (America/New_York 15:00).
    s.answer(office_hours, "Accept")
    s.wait_titles(lambda t: office_hours.title in t, "the zone-less event on the calendar page")
    when = str(s.item(office_hours.title).locator(TIME[provider]).inner_text())
    assert "15:00" in when and ZONE_LABEL[provider] in when, f"at the organizer's time in their zone: {when!r}"

    # Calendar disconnected or showing an error: the grant is revoked -> Profile shows the error and the fix.
    sb = s.server.sandbox.sandbox
    if provider is Provider.GOOGLE:
        sb.google.revoke_grants(s.email)
    else:
        sb.microsoft.revoke(s.email)
    s.organizer_edits(office_hours, "Office hours (moved)")  # gives the engine something to send now

    def shows_error() -> bool:
        s.profile()
        return bool(s.page.get_by_test_id("connection-error").count())

    wait_until(shows_error, what="Profile → Calendar to show the connection's error")
    error = s.page.get_by_test_id("connection-error")
    expect(error).to_contain_text("stopped working")
    expect(error).to_contain_text("disconnect below, then connect again")
    expect(s.page.get_by_test_id("reconnect")).to_be_visible()
    shot(s.page, f"story-error-{provider.value}")

    # The fix: disconnect and reconnect -> the entries are all there, none twice.
    before = s.titles()
    s.page.once("dialog", lambda dialog: dialog.accept())  # Disconnect asks first
    s.page.get_by_role("button", name="Disconnect").click()
    expect(s.page.get_by_test_id("notice")).to_contain_text("Your calendar is disconnected.")
    s.connect()
    connected_at = s.connection().connected_at
    wait_until(
        lambda: (
            (c := s.connection()).last_success_at is not None
            and c.last_success_at > connected_at
            and not c.need_full_sync
        ),
        what="the first full round after reconnecting",
    )
    s.wait_rounds(1)
    titles = s.wait_titles(lambda t: "Office hours (moved)" in t, "the edit made while broken to arrive")
    assert len(titles) == len(set(titles)), f"no duplicates after reconnecting: {titles}"
    assert set(before) - {office_hours.title} <= set(titles), f"entries kept: {before} -> {titles}"
    shot(s.page, f"story-reconnected-{provider.value}")
    shot(s.calendar, f"story-sandbox-reconnected-{provider.value}")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_support_diagnoses_a_revoked_connection(story: Any, chromium: Any, provider: Provider) -> None:
    """The internal note as a page: after the grant is revoked, support's diagnosis of the person says the
    token is a problem and to reconnect; the admin page's chart shows the rounds the engine ran."""
    s: Story = story(provider)
    s.connect()
    s.answer(s.server.demo.events[1], "Accept")
    s.wait_titles(lambda t: s.server.demo.events[1].title in t, "the entry on the sandbox calendar page")
    sb = s.server.sandbox.sandbox
    if provider is Provider.GOOGLE:
        sb.google.revoke_grants(s.email)
    else:
        sb.microsoft.revoke(s.email)
    context = chromium.new_context(viewport={"width": 1000, "height": 900})
    try:
        support = context.new_page()
        sign_in(support, s.server, Role.SUPPORT)
        support.goto(f"{s.server.url}/support")
        support.get_by_label("Person's email").fill(s.email)
        support.get_by_label("Event id (optional)").fill(str(s.server.demo.events[1].id))
        support.get_by_role("button", name="Diagnose").click()
        expect(support.get_by_test_id("verdict-token")).to_have_text("Problem")
        expect(support.get_by_test_id("next-token")).to_contain_text("connect")
        expect(support.get_by_test_id("overall")).to_contain_text("Problem")
        shot(support, f"support-diagnosis-{provider.value}")
        support.goto(f"{s.server.url}/admin")
        expect(support.get_by_test_id("sync-chart-summary")).not_to_contain_text("0 sync rounds")
        expect(support.get_by_test_id("bar-rounds").first).to_be_attached()
        shot(support, f"admin-sync-chart-{provider.value}")
    finally:
        context.close()
