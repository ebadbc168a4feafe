"""Every bad input named in issue 2 gets a 4xx with a message that says what to fix, and nothing stored changes."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Api, error_of

E = "/api/v1/events"

# (name, who, method, path ({event} and {other_event} are filled in), body, status, code, field, words in message)
CASES: list[tuple[str, str, str, str, Any, int, str, str | None, str]] = [
    (
        "unknown zone",
        "organizer",
        "POST",
        E,
        {"title": "T", "timezone": "Mars/Olympus", "start": "2026-05-01T09:00:00", "end": "2026-05-01T10:00:00"},
        422,
        "invalid_input",
        "timezone",
        "not a known IANA time zone",
    ),
    (
        "unknown zone on edit",
        "organizer",
        "PATCH",
        E + "/{event}",
        {"timezone": "Europe/Atlantis"},
        422,
        "invalid_input",
        "timezone",
        "not a known IANA time zone",
    ),
    (
        "end before start",
        "organizer",
        "POST",
        E,
        {"title": "T", "start": "2026-05-01T10:00:00", "end": "2026-05-01T09:00:00"},
        422,
        "invalid_input",
        "end",
        "must be after start",
    ),
    (
        "end before start on edit",
        "organizer",
        "PATCH",
        E + "/{event}",
        {"end": "2026-03-10T08:00:00"},
        422,
        "invalid_input",
        "end",
        "must be after start",
    ),
    (
        "all-day end date before start date",
        "organizer",
        "POST",
        E,
        {"title": "T", "all_day": True, "start_date": "2026-05-02", "end_date": "2026-05-01"},
        422,
        "invalid_input",
        "end_date",
        "on or after start_date",
    ),
    (
        "all-day event with times",
        "organizer",
        "POST",
        E,
        {"title": "T", "all_day": True, "start": "2026-05-01T09:00:00", "start_date": "2026-05-01"},
        422,
        "invalid_input",
        "start",
        "an all-day event has no times",
    ),
    (
        "all-day date carrying a time",
        "organizer",
        "POST",
        E,
        {"title": "T", "all_day": True, "start_date": "2026-05-01T09:30:00"},
        422,
        "invalid_input",
        "start_date",
        "start_date:",
    ),
    (
        "malformed date",
        "organizer",
        "POST",
        E,
        {"title": "T", "all_day": True, "start_date": "2026-13-45"},
        422,
        "invalid_input",
        "start_date",
        "start_date: Input should be a valid date",
    ),
    (
        "malformed wall-clock time",
        "organizer",
        "POST",
        E,
        {"title": "T", "start": "tomorrow at nine", "end": "2026-05-01T10:00:00"},
        422,
        "invalid_input",
        "start",
        "start: must be a wall-clock time without a UTC offset (the zone is 'timezone'), e.g. 2026-05-01T09:30:00",
    ),
    (
        "time with an offset",
        "organizer",
        "POST",
        E,
        {"title": "T", "start": "2026-05-01T09:00:00+02:00", "end": "2026-05-01T10:00:00"},
        422,
        "invalid_input",
        "start",
        "without a UTC offset",
    ),
    (
        "spring-forward gap",
        "organizer",
        "POST",
        E,
        {"title": "T", "timezone": "America/New_York", "start": "2026-03-08T02:30:00", "end": "2026-03-08T04:00:00"},
        422,
        "invalid_input",
        "start",
        "02:30 does not exist on 2026-03-08 in America/New_York: clocks go from 02:00 to 03:00; pick another time",
    ),
    (
        "missing title",
        "organizer",
        "POST",
        E,
        {"start": "2026-05-01T09:00:00", "end": "2026-05-01T10:00:00"},
        422,
        "invalid_input",
        "title",
        "title: is required",
    ),
    (
        "blank title",
        "organizer",
        "POST",
        E,
        {"title": "  ", "start": "2026-05-01T09:00:00", "end": "2026-05-01T10:00:00"},
        422,
        "invalid_input",
        "title",
        "title must not be empty",
    ),
    (
        "misspelt field",
        "organizer",
        "POST",
        E,
        {"title": "T", "start": "2026-05-01T09:00:00", "end": "2026-05-01T10:00:00", "time_zone": "UTC"},
        422,
        "invalid_input",
        "time_zone",
        "time_zone: is not a field of this request",
    ),
    ("body is not JSON", "organizer", "POST", E, "{not json", 422, "invalid_input", None, "not valid JSON"),
    (
        "RSVP state that does not exist",
        "member",
        "PUT",
        E + "/{event}/rsvp",
        {"status": "maybe"},
        422,
        "invalid_input",
        "status",
        "status: Input should be 'needs_action', 'accepted', 'tentative' or 'declined'",
    ),
    (
        "RSVP needs_action",
        "member",
        "PUT",
        E + "/{event}/rsvp",
        {"status": "needs_action"},
        422,
        "invalid_input",
        "status",
        "answer with accepted, tentative or declined",
    ),
    (
        "RSVP to a cancelled event",
        "member",
        "PUT",
        E + "/{cancelled}/rsvp",
        {"status": "accepted"},
        409,
        "conflict",
        None,
        "cancelled",
    ),
    (
        "RSVP to another organization's event",
        "member",
        "PUT",
        E + "/{other_event}/rsvp",
        {"status": "accepted"},
        404,
        "not_found",
        None,
        "no event with id",
    ),
    (
        "edit another organization's event",
        "organizer",
        "PATCH",
        E + "/{other_event}",
        {"title": "x"},
        404,
        "not_found",
        None,
        "no event with id",
    ),
    (
        "invite to another organization's event",
        "organizer",
        "POST",
        E + "/{other_event}/invitations",
        {"person_ids": [1]},
        404,
        "not_found",
        None,
        "no event with id",
    ),
    (
        "invite someone from another organization",
        "organizer",
        "POST",
        E + "/{event}/invitations",
        {"person_ids": ["{other_person}"]},
        404,
        "not_found",
        None,
        "in your organization",
    ),
    (
        "invite nobody",
        "organizer",
        "POST",
        E + "/{event}/invitations",
        {"person_ids": []},
        422,
        "invalid_input",
        "person_ids",
        "at least one person",
    ),
    (
        "event id that is not a number",
        "member",
        "PUT",
        E + "/abc/rsvp",
        {"status": "accepted"},
        422,
        "invalid_input",
        "event_id",
        "'event_id' in the URL",
    ),
    (
        "from without an offset",
        "member",
        "GET",
        E + "?from=2026-03-01T00:00:00",
        None,
        422,
        "invalid_input",
        "from",
        "must be an instant with a UTC offset",
    ),
    (
        "limit out of range",
        "member",
        "GET",
        E + "?limit=0",
        None,
        422,
        "invalid_input",
        "limit",
        "query parameter 'limit'",
    ),
]


def _fill(api: Api, ids: dict[str, int], value: Any) -> Any:
    if isinstance(value, str):
        for key, number in ids.items():
            if value == "{" + key + "}":
                return number
            value = value.replace("{" + key + "}", str(number))
        return value
    if isinstance(value, list):
        return [_fill(api, ids, v) for v in value]
    if isinstance(value, dict):
        return {k: _fill(api, ids, v) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "status", "code", "field", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_input_is_refused_clearly_and_stores_nothing(
    api: Api,
    snapshot: Any,
    who: str,
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str,
    field: str | None,
    words: str,
) -> None:
    """The request gets the documented status, code, field and message, and the database is exactly as before."""
    event = api.new_event()
    cancelled = api.new_event(title="Cancelled")
    assert api.post("organizer", f"/api/v1/events/{cancelled['id']}/cancel").status_code == 200
    other = api.new_event("other_organizer", title="Globex event")
    ids = {
        "event": event["id"],
        "cancelled": cancelled["id"],
        "other_event": other["id"],
        "other_person": api.id("other_admin"),
    }
    before = snapshot()
    url = _fill(api, ids, path)
    if isinstance(body, str):
        response = api.client.request(
            method, url, headers={**api.h(who), "content-type": "application/json"}, content=body
        )
    else:
        response = api.client.request(method, url, headers=api.h(who), json=_fill(api, ids, body))
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["code"] == code
    assert error["field"] == field
    assert words in error["message"]
    assert snapshot() == before


def test_events_module_off_is_403_with_the_seeds_message_and_stores_nothing(api: Api, snapshot: Any) -> None:
    """With Events off, creating an event and answering one are refused with feature_disabled."""
    event = api.new_event()
    assert api.put("admin", "/api/v1/organizations/me/modules/events", {"enabled": False}).status_code == 200
    before = snapshot()
    for response in (
        api.post(
            "organizer", "/api/v1/events", {"title": "T", "start": "2026-05-01T09:00:00", "end": "2026-05-01T10:00:00"}
        ),
        api.put("member", f"/api/v1/events/{event['id']}/rsvp", {"status": "accepted"}),
        api.get("member", "/api/v1/events"),
        api.get("member", "/api/v1/people/me/rsvps"),
    ):
        assert response.status_code == 403
        error = error_of(response)
        assert error["code"] == "feature_disabled"
        assert error["message"] == (
            "Calendar sync and events need the Events module; ask your administrator to turn it on"
        )
    assert snapshot() == before


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({}, "authentication required"),
        ({"Authorization": "Bearer cs_not-a-real-token"}, "the API token is not valid"),
        ({"Authorization": "Bearer "}, "must be 'Bearer <api token>'"),
        ({"Authorization": "Basic YWRhOnB3"}, "must be 'Bearer <api token>'"),
        ({"Authorization": "Bearer something-else"}, "the API token is not valid"),
    ],
    ids=["missing", "wrong", "empty", "basic", "not ours"],
)
def test_missing_or_wrong_token_is_401_and_stores_nothing(
    api: Api, snapshot: Any, headers: dict[str, str], words: str
) -> None:
    """Without a valid token a write is refused with 401, a Bearer challenge and how to authenticate."""
    before = snapshot()
    response = api.client.post(
        "/api/v1/events",
        headers=headers,
        json={"title": "T", "start": "2026-05-01T09:00:00", "end": "2026-05-01T10:00:00"},
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    error = error_of(response)
    assert error["code"] == "not_authenticated" and words in error["message"]
    assert snapshot() == before
