"""Calendar v3 events through google-api-python-client: ids, deletes, etags, sequence, times, organizer, import."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from .conftest import GoogleKit, reason, when


def error_of(call: Any) -> tuple[int, str, str]:
    with pytest.raises(HttpError) as info:
        call.execute()
    import json

    body = json.loads(info.value.content)["error"]
    return info.value.resp.status, body["errors"][0]["reason"], body["message"]


@pytest.fixture
def svc(g: GoogleKit) -> Any:
    return g.service("alice@example.com")


def test_client_chosen_and_generated_ids(svc: Any) -> None:
    """A valid base32hex id is kept; without one the emulator generates a base32hex id."""
    mine = svc.events().insert(calendarId="primary", body={"id": "c4lsunc0123v", **when(9)}).execute()
    assert mine["id"] == "c4lsunc0123v" and mine["iCalUID"] == "c4lsunc0123v@google.com"
    generated = svc.events().insert(calendarId="primary", body=when(10)).execute()
    assert set(generated["id"]) <= set("0123456789abcdefghijklmnopqrstuv") and len(generated["id"]) >= 5


@pytest.mark.parametrize("bad", ["abcd", "ABCDEF12", "wxyz12345", "abc-12345", "a" * 1025])
def test_invalid_ids_are_400(svc: Any, bad: str) -> None:
    """Ids outside base32hex or 5-1024 characters get 400 invalid "Invalid resource id value."."""
    status, why, message = error_of(svc.events().insert(calendarId="primary", body={"id": bad, **when(9)}))
    assert (status, why, message) == (400, "invalid", "Invalid resource id value.")


def test_duplicate_id_409_even_after_delete(svc: Any) -> None:
    """Reusing an id is 409 duplicate, also when the event with that id was deleted (§1.3)."""
    svc.events().insert(calendarId="primary", body={"id": "dup00001", **when(9)}).execute()
    assert error_of(svc.events().insert(calendarId="primary", body={"id": "dup00001", **when(9)}))[:2] == (
        409, "duplicate")
    svc.events().delete(calendarId="primary", eventId="dup00001").execute()
    status, why, message = error_of(svc.events().insert(calendarId="primary", body={"id": "dup00001", **when(9)}))
    assert (status, why, message) == (409, "duplicate", "The requested identifier already exists.")


def test_deleted_events_are_kept_and_second_delete_is_410(svc: Any) -> None:
    """A deleted event reads back as cancelled, shows with showDeleted, and deleting it again is 410 deleted."""
    svc.events().insert(calendarId="primary", body={"id": "gone0001", "summary": "Bye", **when(9)}).execute()
    svc.events().delete(calendarId="primary", eventId="gone0001").execute()
    got = svc.events().get(calendarId="primary", eventId="gone0001").execute()
    assert got["status"] == "cancelled" and got["summary"] == "Bye"
    assert svc.events().list(calendarId="primary").execute()["items"] == []
    shown = svc.events().list(calendarId="primary", showDeleted=True).execute()["items"]
    assert [e["id"] for e in shown] == ["gone0001"]
    assert error_of(svc.events().delete(calendarId="primary", eventId="gone0001")) == (
        410, "deleted", "Resource has been deleted")


def test_unknown_event_and_foreign_calendar_are_404(g: GoogleKit, svc: Any) -> None:
    """An unknown event id and another account's calendar both answer 404 notFound."""
    assert error_of(svc.events().get(calendarId="primary", eventId="nosuch123"))[:2] == (404, "notFound")
    g.google.create_account("bob@example.com")
    assert error_of(svc.events().list(calendarId="bob@example.com"))[:2] == (404, "notFound")


def test_etag_changes_and_if_match_412(svc: Any) -> None:
    """Each change gives a new etag; If-Match with a stale etag is 412 conditionNotMet; the current one works."""
    ev = svc.events().insert(calendarId="primary", body={"id": "etag0001", "summary": "a", **when(9)}).execute()
    patched = svc.events().patch(calendarId="primary", eventId="etag0001", body={"summary": "b"}).execute()
    assert patched["etag"] != ev["etag"]
    for method, kwargs in (("update", {"body": {"summary": "c", **when(9)}}), ("patch", {"body": {"summary": "c"}}),
                           ("delete", {})):
        req = getattr(svc.events(), method)(calendarId="primary", eventId="etag0001", **kwargs)
        req.headers["If-Match"] = ev["etag"]
        status, why, _ = error_of(req)
        assert (status, why) == (412, "conditionNotMet")
    req = svc.events().patch(calendarId="primary", eventId="etag0001", body={"summary": "d"})
    req.headers["If-Match"] = patched["etag"]
    assert req.execute()["summary"] == "d"


def test_if_none_match_gives_304(g: GoogleKit) -> None:
    """GET with If-None-Match of the current etag answers 304 Not Modified."""
    token = g.tokens("alice@example.com")["access_token"]
    ev = g.api("POST", "calendars/primary/events", token, json=when(9)).json()
    r = g.api("GET", f"calendars/primary/events/{ev['id']}", token, headers={"If-None-Match": ev["etag"]})
    assert r.status_code == 304
    assert g.api("GET", f"calendars/primary/events/{ev['id']}", token,
                 headers={"If-None-Match": '"other"'}).status_code == 200


def test_sequence_bumps_on_time_change_and_lower_is_400(svc: Any) -> None:
    """Moving the event bumps sequence; a title change does not; a lower sequence on update is 400."""
    svc.events().insert(calendarId="primary", body={"id": "seq00001", **when(9)}).execute()
    assert svc.events().patch(calendarId="primary", eventId="seq00001",
                              body={"summary": "t"}).execute()["sequence"] == 0
    moved = svc.events().patch(calendarId="primary", eventId="seq00001", body=when(11)).execute()
    assert moved["sequence"] == 1
    status, why, message = error_of(
        svc.events().update(calendarId="primary", eventId="seq00001", body={"sequence": 0, **when(11)}))
    assert status == 400 and message.startswith("Invalid sequence value.")


def test_times_validated(svc: Any) -> None:
    """Missing start/end, bad zones, missing offsets and empty ranges are 400 with Google's wording."""
    ins = svc.events().insert
    assert error_of(ins(calendarId="primary", body={"start": {"date": "2030-01-01"}}))[2] == "Missing end time."
    bad_zone = {"start": {"dateTime": "2030-01-01T10:00:00", "timeZone": "Mars/Base"},
                "end": {"dateTime": "2030-01-01T11:00:00", "timeZone": "Mars/Base"}}
    assert error_of(ins(calendarId="primary", body=bad_zone))[2] == "Invalid time zone definition for start time."
    naive = {"start": {"dateTime": "2030-01-01T10:00:00"}, "end": {"dateTime": "2030-01-01T11:00:00"}}
    assert error_of(ins(calendarId="primary", body=naive))[2] == "Missing time zone definition for start time."
    backwards = {"start": {"dateTime": "2030-01-01T11:00:00Z"}, "end": {"dateTime": "2030-01-01T10:00:00Z"}}
    assert error_of(ins(calendarId="primary", body=backwards)) == (
        400, "timeRangeEmpty", "The specified time range is empty.")
    same_day = {"start": {"date": "2030-01-01"}, "end": {"date": "2030-01-01"}}
    assert error_of(ins(calendarId="primary", body=same_day))[1] == "timeRangeEmpty"


def test_zone_and_all_day_events(svc: Any) -> None:
    """A local dateTime with an IANA timeZone gets its offset; all-day events keep dates."""
    ev = svc.events().insert(calendarId="primary", body={
        "start": {"dateTime": "2030-07-01T10:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2030-07-01T11:00:00", "timeZone": "Europe/Berlin"}}).execute()
    assert ev["start"] == {"dateTime": "2030-07-01T10:00:00+02:00", "timeZone": "Europe/Berlin"}
    day = svc.events().insert(calendarId="primary", body={"start": {"date": "2030-07-01"},
                                                          "end": {"date": "2030-07-02"}}).execute()
    assert day["start"] == {"date": "2030-07-01"} and day["end"] == {"date": "2030-07-02"}


def test_organizer_is_read_only_on_insert(svc: Any) -> None:
    """insert ignores a body organizer: the calendar owner organizes, marked self; created/updated are RFC3339."""
    ev = svc.events().insert(calendarId="primary", body={
        "organizer": {"email": "mallory@example.com"}, **when(9)}).execute()
    assert ev["organizer"] == {"email": "alice@example.com", "self": True}
    assert ev["created"].endswith("Z") and ev["updated"].endswith("Z")
    updated = svc.events().update(calendarId="primary", eventId=ev["id"], body={
        "organizer": {"email": "mallory@example.com"}, **when(9)}).execute()
    assert updated["organizer"]["email"] == "alice@example.com"


def test_update_replaces_and_patch_merges(svc: Any) -> None:
    """update drops fields it does not send; patch merges extendedProperties key by key."""
    svc.events().insert(calendarId="primary", body={
        "id": "merge0001", "summary": "s", "description": "d",
        "extendedProperties": {"private": {"a": "1"}}, **when(9)}).execute()
    merged = svc.events().patch(calendarId="primary", eventId="merge0001",
                                body={"extendedProperties": {"private": {"b": "2"}}}).execute()
    assert merged["extendedProperties"]["private"] == {"a": "1", "b": "2"} and merged["description"] == "d"
    replaced = svc.events().update(calendarId="primary", eventId="merge0001",
                                   body={"summary": "s2", **when(9)}).execute()
    assert "description" not in replaced and "extendedProperties" not in replaced


def test_import_takes_organizer_from_body_and_upserts_by_icaluid(g: GoogleKit, svc: Any) -> None:
    """import keeps the body's organizer, marks the owner attendee self, answers, and upserts by iCalUID."""
    g.google.create_account("org@example.com")
    body = {"iCalUID": "meeting-42@example.org", "summary": "Imported",
            "organizer": {"email": "org@example.com"},
            "attendees": [{"email": "org@example.com"}, {"email": "alice@example.com"}], **when(9)}
    ev = svc.events().import_(calendarId="primary", body=body).execute()
    assert ev["organizer"] == {"email": "org@example.com"}
    me = [a for a in ev["attendees"] if a.get("self")]
    assert me == [{"email": "alice@example.com", "responseStatus": "needsAction", "self": True}]
    answered = svc.events().patch(calendarId="primary", eventId=ev["id"], body={"attendees": [
        {"email": "org@example.com"}, {"email": "alice@example.com", "responseStatus": "accepted"}]}).execute()
    assert [a["responseStatus"] for a in answered["attendees"] if a.get("self")] == ["accepted"]
    assert g.google.events("org@example.com") == []  # a private copy: nothing propagates
    again = svc.events().import_(calendarId="primary", body={**body, "summary": "Renamed", "sequence": 1}).execute()
    assert again["id"] == ev["id"] and again["summary"] == "Renamed"
    assert len(svc.events().list(calendarId="primary", iCalUID="meeting-42@example.org").execute()["items"]) == 1
    status, _, message = error_of(svc.events().import_(calendarId="primary", body={**body, "sequence": 0}))
    assert status == 400 and message.startswith("Invalid sequence value.")
    assert error_of(svc.events().import_(calendarId="primary", body=when(9)))[:2] == (400, "required")


def test_calendars_insert_and_calendar_list_paging(svc: Any) -> None:
    """calendars.insert makes group calendars; calendarList pages with maxResults and lists primary first."""
    made = [svc.calendars().insert(body={"summary": f"Team {i}", "timeZone": "Europe/Paris"}).execute()
            for i in range(3)]
    assert all(c["id"].endswith("@group.calendar.google.com") for c in made)
    page = svc.calendarList().list(maxResults=2).execute()
    assert page["items"][0]["id"] == "alice@example.com" and page["items"][0]["primary"] is True
    rest = svc.calendarList().list(maxResults=2, pageToken=page["nextPageToken"]).execute()
    ids = {c["id"] for c in page["items"] + rest["items"]}
    assert ids == {"alice@example.com", *(c["id"] for c in made)} and "nextPageToken" not in rest
    ev = svc.events().insert(calendarId=made[0]["id"], body=when(9)).execute()
    assert ev["organizer"] == {"email": made[0]["id"], "displayName": "Team 0", "self": True}
    assert error_of(svc.calendars().insert(body={"description": "no title"}))[:2] == (400, "required")


def test_parse_error_and_bad_enum(g: GoogleKit) -> None:
    """Invalid JSON is 400 parseError; an unknown status value is 400 invalid."""
    token = g.tokens("alice@example.com")["access_token"]
    r = g.api("POST", "calendars/primary/events", token, content=b"{not json",
              headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["errors"][0]["reason"] == "parseError"
    r = g.api("POST", "calendars/primary/events", token, json={"status": "maybe", **when(9)})
    assert r.status_code == 400 and r.json()["error"]["errors"][0]["reason"] == "invalid"
    assert reason  # the helper is shared with other modules
