"""The events and RSVP endpoints doing their jobs: create, read, list, edit, cancel, invite, answer."""

from __future__ import annotations

from typing import Any

from .conftest import Api, error_of


def test_create_timed_event_with_organizer_zone_reports_it(api: Api) -> None:
    """An event created without a zone shows the organizer's zone and timezone_source 'organizer'."""
    event = api.new_event()
    assert event["timezone"] == "America/New_York" and event["timezone_source"] == "organizer"
    assert event["start"] == "2026-03-10T09:00:00" and event["start_utc"] == "2026-03-10T13:00:00Z"
    assert event["all_day"] is False and event["start_date"] is None
    assert event["status"] == "scheduled" and event["version"] == 1
    assert event["organizer_id"] == api.id("organizer")


def test_create_all_day_event(api: Api) -> None:
    """An all-day event is dates only, end_date inclusive, with the zone used for its instants."""
    event = api.new_event(
        "admin",
        title="Offsite",
        timezone="Europe/Berlin",
        all_day=True,
        start_date="2026-05-01",
        end_date="2026-05-02",
        start=None,
        end=None,
    )
    assert (event["start_date"], event["end_date"], event["start"], event["end"]) == (
        "2026-05-01",
        "2026-05-02",
        None,
        None,
    )
    assert event["timezone_source"] == "event" and event["start_utc"] == "2026-04-30T22:00:00Z"


def test_ambiguous_time_takes_the_first_occurrence(api: Api) -> None:
    """01:30 on the New York fall-back day is stored as its first occurrence (05:30 UTC, daylight time)."""
    event = api.new_event(timezone="America/New_York", start="2026-11-01T01:30:00", end="2026-11-01T02:30:00")
    assert event["start_utc"] == "2026-11-01T05:30:00Z" and event["end_utc"] == "2026-11-01T07:30:00Z"


def test_get_list_edit_cancel(api: Api) -> None:
    """A member reads and lists events; the organizer edits (version 2) and cancels (version 3)."""
    event = api.new_event()
    url = f"/api/v1/events/{event['id']}"
    assert api.get("member", url).json() == event
    assert [e["id"] for e in api.get("member", "/api/v1/events").json()] == [event["id"]]
    edited = api.patch("organizer", url, {"title": "Planning (room 2)", "location": "Room 2"}).json()
    assert (edited["title"], edited["location"], edited["version"]) == ("Planning (room 2)", "Room 2", 2)
    cancelled = api.post("organizer", url + "/cancel").json()
    assert (cancelled["status"], cancelled["version"]) == ("cancelled", 3)
    assert api.get("member", "/api/v1/events").json() == []
    listed = api.get("member", "/api/v1/events?include_cancelled=true").json()
    assert [e["status"] for e in listed] == ["cancelled"]
    response = api.patch("organizer", url, {"title": "again"})
    assert response.status_code == 409 and error_of(response)["code"] == "conflict"


def test_list_from_a_given_time_and_limit(api: Api) -> None:
    """`from` picks the moment (default now, from the app's clock) and `limit` caps the list."""
    past = api.new_event(title="past", start="2026-02-01T09:00:00", end="2026-02-01T10:00:00")
    soon = api.new_event(title="soon")
    later = api.new_event(title="later", start="2026-04-01T09:00:00", end="2026-04-01T10:00:00")
    ids = lambda r: [e["id"] for e in r.json()]  # noqa: E731
    assert ids(api.get("member", "/api/v1/events")) == [soon["id"], later["id"]]
    assert ids(api.get("member", "/api/v1/events", params={"from": "2026-01-01T00:00:00Z"})) == [
        past["id"],
        soon["id"],
        later["id"],
    ]
    assert ids(api.get("member", "/api/v1/events", params={"from": "2026-03-15T00:00:00+01:00", "limit": 5})) == [
        later["id"]
    ]
    assert ids(api.get("member", "/api/v1/events", params={"limit": 1})) == [soon["id"]]


def test_invite_then_answer_then_read(api: Api) -> None:
    """Invitees start at needs_action; an answer is stored with source platform and its own version."""
    event = api.new_event()
    url = f"/api/v1/events/{event['id']}"
    invited = api.post("organizer", url + "/invitations", {"person_ids": [api.id("member"), api.id("member2")]})
    assert invited.status_code == 200
    assert [(r["person_id"], r["status"]) for r in invited.json()] == [
        (api.id("member"), "needs_action"),
        (api.id("member2"), "needs_action"),
    ]
    assert api.get("member", url + "/rsvp").json()["status"] == "needs_action"
    answered = api.put("member", url + "/rsvp", {"status": "tentative"}).json()
    assert (answered["status"], answered["source"], answered["version"]) == ("tentative", "platform", 2)
    assert api.get("member", url + "/rsvp").json() == answered
    mine = api.get("member", "/api/v1/people/me/rsvps").json()
    assert [(r["event"]["id"], r["status"]) for r in mine] == [(event["id"], "tentative")]
    everyone = api.get("organizer", url + "/rsvps").json()
    assert {r["person_id"]: r["status"] for r in everyone} == {
        api.id("member"): "tentative",
        api.id("member2"): "needs_action",
    }


def test_answering_without_an_invitation_and_reading_no_rsvp(api: Api) -> None:
    """Any member can answer an event of their organization; before that, GET my RSVP is 404 with the fix."""
    event = api.new_event()
    url = f"/api/v1/events/{event['id']}/rsvp"
    missing = api.get("member2", url)
    assert missing.status_code == 404 and "PUT /api/v1/events" in error_of(missing)["message"]
    assert api.put("member2", url, {"status": "declined"}).json()["status"] == "declined"


def test_openapi_and_docs_and_health(api: Api) -> None:
    """The OpenAPI document lists the endpoints, /docs serves, /healthz reports the database."""
    spec: dict[str, Any] = api.client.get("/openapi.json").json()
    for path in (
        "/api/v1/events",
        "/api/v1/events/{event_id}/rsvp",
        "/api/v1/people/me/rsvps",
        "/api/v1/session",
        "/api/v1/organizations/me/modules/{module}",
        "/api/v1/events/{event_id}/invitations",
    ):
        assert path in spec["paths"]
    assert api.client.get("/docs").status_code == 200
    health = api.client.get("/healthz").json()
    assert health["status"] == "ok" and health["database"] in {"sqlite", "postgresql"}


def test_unknown_endpoint_is_404_in_the_error_shape(api: Api) -> None:
    """Routes that do not exist answer in the same JSON error shape."""
    response = api.get("member", "/api/v1/nothing-here")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
