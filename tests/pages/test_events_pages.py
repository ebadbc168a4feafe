"""The events list, RSVP buttons, sync badges, the event page and organizers' forms."""

from __future__ import annotations

import re
from html import unescape

from calsync.core.connection import ConnectionStatus, Provider
from calsync.core.model import Module, Role
from calsync.services import organizations
from calsync.services.auth import principal
from calsync.services.badges import FEATURE_UNAVAILABLE
from tests.pages.conftest import Browser, Site, add_connection, save_entry


def badge_of(html: str, event_id: int) -> str:
    found = re.search(rf'data-testid="badge-{event_id}" data-kind="([a-z_]+)">(.*?)</div>', html, re.S)
    return f"{found.group(1)}: {' '.join(found.group(2).split())}" if found else "none"


def answer_of(html: str, event_id: int) -> str:
    found = re.search(rf'data-testid="answer-{event_id}">([^<]*)<', html)
    assert found
    return found.group(1)


def rsvp(browser: Browser, event_id: int, status: str, next_: str = "/events") -> object:
    return browser.post(f"/events/{event_id}/rsvp", {"status": status, "next": next_})


def test_events_lists_the_organizations_upcoming_events_only(site: Site) -> None:
    """The list shows the demo organization's events, never another organization's."""
    html = unescape(site.browser(Role.MEMBER).get("/events").text)
    for event in site.demo.events:
        assert event.title in html
    assert "Globex secret" not in html


def test_accepting_shows_the_connect_advice_and_declining_removes_the_badge(site: Site) -> None:
    """RSVP accept changes the answer and, with no connection, the badge says to connect; decline drops it."""
    browser = site.browser(Role.MEMBER)
    event = site.event("Team lunch in Tokyo")
    assert badge_of(browser.get("/events").text, event.id) == "none"
    response = rsvp(browser, event.id, "accepted")
    assert response.status_code == 303 and response.headers["location"] == f"/events#event-{event.id}"
    html = browser.get("/events").text
    assert answer_of(html, event.id) == "Accepted"
    badge = badge_of(html, event.id)
    assert badge.startswith("not_connected: <strong>Connect your calendar</strong>")
    assert "Connect Google Calendar or Outlook in Profile → Calendar.</a>" in badge
    assert badge.count("Profile → Calendar") == 1, "the fix is said once"
    rsvp(browser, event.id, "declined")
    html = browser.get("/events").text
    assert answer_of(html, event.id) == "Declined" and badge_of(html, event.id) == "none"


def test_badges_follow_the_connection_and_entry_state(site: Site) -> None:
    """With a connection the badges say in your calendar, syncing, removed (Resync), or the connection's error."""
    member = site.person(Role.MEMBER)  # Max: accepted Quarterly planning and Company offsite
    planning, offsite = site.event("Quarterly planning"), site.event("Company offsite")
    connection = add_connection(site.ctx, member, provider=Provider.MICROSOFT)
    save_entry(site.ctx, connection, planning.id, provider_id="AAMk-1", dirty=False)
    save_entry(site.ctx, connection, offsite.id, provider_id=None, dirty=True)
    browser = site.browser(Role.MEMBER)
    html = browser.get("/events").text
    assert badge_of(html, planning.id).startswith("in_calendar: <strong>In your Outlook calendar</strong>")
    assert badge_of(html, offsite.id).startswith("syncing: <strong>Syncing…</strong>")
    save_entry(site.ctx, connection, planning.id, provider_id=None, tombstone=True)
    assert "Use Resync in Profile → Calendar" in badge_of(browser.get("/events").text, planning.id)


def test_a_broken_connection_explains_itself_on_every_accepted_event(site: Site) -> None:
    """A connection in error shows its reason and "disconnect and reconnect" on the events it should carry."""
    add_connection(
        site.ctx,
        site.person(Role.MEMBER),
        status=ConnectionStatus.ERROR,
        error_reason="Google says calsync's access was revoked.",
    )
    html = site.browser(Role.MEMBER).get("/events").text
    badge = badge_of(html, site.event("Quarterly planning").id)
    assert badge.startswith("not_in_calendar: <strong>Not in your calendar</strong>")
    assert "access was revoked." in badge
    assert badge.count("Disconnect your calendar in Profile → Calendar, then connect it again.") == 1


def test_events_module_off_shows_the_feature_message(site: Site) -> None:
    """With Events off, events and calendar pages show the feature-availability text and no sync controls."""
    admin = principal(site.person(Role.ADMIN))
    organizations.set_module(site.ctx, admin, Module.EVENTS, False)
    browser = site.browser(Role.MEMBER)
    for url in ("/events", "/profile/calendar", f"/events/{site.event('All-hands').id}"):
        response = browser.get(url)
        assert response.status_code == 403, url
        assert FEATURE_UNAVAILABLE in unescape(response.text)
        assert "Connect Google Calendar" not in response.text and "rsvp" not in response.text
    assert rsvp(browser, site.event("All-hands").id, "accepted").status_code == 403


def test_another_organizations_event_is_not_found(site: Site) -> None:
    """Another organization's event is 404 to read, to answer, to edit and to cancel."""
    browser = site.browser(Role.ADMIN)
    other = site.globex_event.id
    assert browser.get(f"/events/{other}").status_code == 404
    assert browser.get(f"/events/{other}/edit").status_code == 404
    assert rsvp(browser, other, "accepted").status_code == 404
    assert browser.post(f"/events/{other}/cancel", {}).status_code == 404
    globex = site.globex()
    assert globex.get(f"/events/{other}").status_code == 200


def test_rsvp_with_an_unknown_answer_is_refused(site: Site) -> None:
    """Only accepted, tentative and declined are answers; anything else is a 422 page that says so."""
    response = rsvp(site.browser(Role.MEMBER), site.event("All-hands").id, "needs_action")
    assert response.status_code == 422 and "Choose Accept, Tentative or Decline." in response.text


def test_event_page_shows_the_zone_note_for_a_zoneless_event(site: Site) -> None:
    """An event created without a zone says it is at the organizer's time (seeds: timezone issues)."""
    event = site.event("Design office hours")
    html = unescape(site.browser(Role.MEMBER).get(f"/events/{event.id}").text)
    assert "created without a time zone, so it is at the organizer’s time (America/New_York)" in html
    assert 'data-testid="organizer-tools"' not in html


def test_member_cannot_open_the_new_event_form(site: Site) -> None:
    """Members get a 403 page for the organizer forms."""
    browser = site.browser(Role.MEMBER)
    assert browser.get("/events/new").status_code == 403
    assert browser.get(f"/events/{site.event('Quarterly planning').id}/edit").status_code == 403
    response = browser.post("/events/new", {"title": "x", "start": "2026-03-10T09:00", "end": "2026-03-10T10:00"})
    assert response.status_code == 403


def test_organizer_creates_an_event_with_field_errors_first(site: Site) -> None:
    """Bad fields come back beside the field with what was typed kept; a correct form creates the event."""
    browser = site.browser(Role.ORGANIZER)
    bad = browser.post(
        "/events/new",
        {"title": "Retro", "timezone": "Mars/Olympus", "start": "2026-03-10T09:00", "end": "2026-03-10T08:00"},
        page="/events/new",
    )
    assert bad.status_code == 422
    assert 'data-testid="error-timezone"' in bad.text and "Mars/Olympus" in bad.text
    missing = browser.post("/events/new", {"title": "", "start": "2026-03-10T09:00", "end": ""}, page="/events/new")
    assert missing.status_code == 422 and "Enter when the event ends." in missing.text
    order = browser.post(
        "/events/new", {"title": "Retro", "start": "2026-03-10T09:00", "end": "2026-03-10T08:00"}, page="/events/new"
    )
    assert order.status_code == 422 and 'data-testid="error-end"' in order.text and "must be after start" in order.text
    good = browser.post(
        "/events/new",
        {
            "title": "Retro",
            "location": "Room 1",
            "timezone": "Europe/Paris",
            "start": "2026-03-10T09:00",
            "end": "2026-03-10T10:00",
        },
        page="/events/new",
    )
    assert good.status_code == 303
    page = browser.get(good.headers["location"]).text
    assert "Event created." in page and "Retro" in page and "Europe/Paris" in page


def test_organizer_edits_cancels_and_invites(site: Site) -> None:
    """The organizer edits (all-day dates too), invites a person, and cancels; the changes show on the page."""
    browser = site.browser(Role.ORGANIZER)
    event = site.event("Quarterly planning")
    form = browser.get(f"/events/{event.id}/edit").text
    assert 'value="Quarterly planning"' in form and 'value="Europe/London"' in form
    saved = browser.post(
        f"/events/{event.id}/edit",
        {
            "title": "Quarterly planning (moved)",
            "timezone": "Europe/London",
            "all_day": "1",
            "start_date": "2026-03-20",
            "end_date": "2026-03-19",
        },
        page=f"/events/{event.id}/edit",
    )
    assert saved.status_code == 422 and "must be on or after start_date" in saved.text
    saved = browser.post(
        f"/events/{event.id}/edit",
        {
            "title": "Quarterly planning (moved)",
            "timezone": "Europe/London",
            "all_day": "1",
            "start_date": "2026-03-20",
            "end_date": "2026-03-20",
        },
        page=f"/events/{event.id}/edit",
    )
    assert saved.status_code == 303
    page = browser.get(f"/events/{event.id}").text
    assert "Quarterly planning (moved)" in page and "Fri 20 Mar 2026 (all day)" in page
    admin_id = site.person(Role.ADMIN).id
    assert f'name="person_id" value="{admin_id}"' in page
    invited = browser.post(f"/events/{event.id}/invite", {"person_id": [str(admin_id)]}, page=f"/events/{event.id}")
    assert invited.status_code == 303
    page = browser.get(invited.headers["location"]).text
    assert "Invitations sent." in page and f'name="person_id" value="{admin_id}"' not in page
    cancelled = browser.post(f"/events/{event.id}/cancel", {}, page=f"/events/{event.id}")
    assert cancelled.status_code == 303
    page = browser.get(f"/events/{event.id}").text
    assert 'data-testid="cancelled"' in page and "Quarterly planning (moved)" not in browser.get("/events").text


def test_another_organizer_cannot_change_the_event(site: Site) -> None:
    """An organizer may only change their own events: the admin's event is 403 to edit for Olivia."""
    browser = site.browser(Role.ORGANIZER)
    admins = site.event("All-hands")
    assert browser.get(f"/events/{admins.id}/edit").status_code == 403
    assert browser.post(f"/events/{admins.id}/cancel", {}).status_code == 403
    assert site.browser(Role.ADMIN).get(f"/events/{admins.id}/edit").status_code == 200


def test_unknown_page_and_bad_ids_are_404_pages(site: Site) -> None:
    """A non-numeric event id is a 404 page, not a validation error."""
    response = site.browser(Role.MEMBER).get("/events/abc")
    assert response.status_code == 404 and "There is no such page" in response.text
