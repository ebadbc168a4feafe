"""events.list paging, filters and incremental sync with syncToken (provider-facts §1.4)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from .conftest import GoogleKit, reason, when


@pytest.fixture
def svc(g: GoogleKit) -> Any:
    return g.service("alice@example.com")


def full_sync(svc: Any, **params: Any) -> tuple[list[dict[str, Any]], str, int]:
    """Page to the end as the Google sync guide does; return items, the sync token and the page count."""
    items, token, pages = [], None, 0
    request = svc.events().list(calendarId="primary", **params)
    while True:
        page = request.execute()
        pages += 1
        items += page["items"]
        assert not ("nextPageToken" in page and "nextSyncToken" in page)
        if "nextPageToken" not in page:
            token = page["nextSyncToken"]
            break
        params["pageToken"] = page["nextPageToken"]
        request = svc.events().list(calendarId="primary", **params)
    return items, token, pages


def test_paging_and_sync_token_only_on_last_page(svc: Any) -> None:
    """With maxResults=2, five events take three pages; only the last carries nextSyncToken."""
    for i in range(5):
        svc.events().insert(calendarId="primary", body={"id": f"page{i:04d}", **when(9 + i)}).execute()
    items, token, pages = full_sync(svc, maxResults=2)
    assert pages == 3 and sorted(e["id"] for e in items) == [f"page{i:04d}" for i in range(5)] and token


def test_max_results_default_and_cap(g: GoogleKit) -> None:
    """maxResults above 2500 is capped (no error); below 1 is 400."""
    token = g.tokens("alice@example.com")["access_token"]
    assert g.api("GET", "calendars/primary/events?maxResults=5000", token).status_code == 200
    assert g.api("GET", "calendars/primary/events?maxResults=0", token).status_code == 400


def test_incremental_sync_returns_changes_and_deletions(svc: Any) -> None:
    """A sync token returns only what changed since, deleted events included, then a new token."""
    for i in range(3):
        svc.events().insert(calendarId="primary", body={"id": f"sunc{i:04d}", **when(9 + i)}).execute()
    _, token, _ = full_sync(svc)
    assert svc.events().list(calendarId="primary", syncToken=token).execute()["items"] == []
    svc.events().patch(calendarId="primary", eventId="sunc0001", body={"summary": "changed"}).execute()
    svc.events().delete(calendarId="primary", eventId="sunc0002").execute()
    svc.events().insert(calendarId="primary", body={"id": "sunc0003", **when(15)}).execute()
    page = svc.events().list(calendarId="primary", syncToken=token).execute()
    assert {(e["id"], e["status"]) for e in page["items"]} == {
        ("sunc0001", "confirmed"), ("sunc0002", "cancelled"), ("sunc0003", "confirmed")}
    later = svc.events().list(calendarId="primary", syncToken=page["nextSyncToken"]).execute()
    assert later["items"] == []


def test_changes_while_paging_are_not_lost(svc: Any) -> None:
    """An event changed between pages of a full sync is seen, at the latest by the next incremental sync."""
    for i in range(6):
        svc.events().insert(calendarId="primary", body={"id": f"race{i:04d}", **when(9 + i)}).execute()
    first = svc.events().list(calendarId="primary", maxResults=3).execute()
    seen = {e["id"] for e in first["items"]}
    svc.events().patch(calendarId="primary", eventId="race0000", body={"summary": "moved"}).execute()
    rest, token, _ = full_sync(svc, maxResults=3, pageToken=first["nextPageToken"])
    seen |= {e["id"] for e in rest}
    assert seen == {f"race{i:04d}" for i in range(6)}
    changed = svc.events().list(calendarId="primary", syncToken=token).execute()["items"]
    assert "race0000" in {e["id"] for e in changed}


def test_incremental_sync_paginates(svc: Any) -> None:
    """An incremental sync with many changes pages with nextPageToken and ends with a new sync token."""
    _, token, _ = full_sync(svc)
    for i in range(5):
        svc.events().insert(calendarId="primary", body=when(9 + i)).execute()
    items, _, pages = full_sync(svc, syncToken=token, maxResults=2)
    assert len(items) == 5 and pages == 3


@pytest.mark.parametrize("param", [
    {"timeMin": "2030-01-01T00:00:00Z"}, {"timeMax": "2030-01-01T00:00:00Z"}, {"q": "x"}, {"iCalUID": "x"},
    {"orderBy": "updated"}, {"updatedMin": "2030-01-01T00:00:00Z"}, {"privateExtendedProperty": "a=b"},
    {"sharedExtendedProperty": "a=b"}, {"showDeleted": False},
])
def test_forbidden_params_with_sync_token_are_400(svc: Any, param: dict[str, Any]) -> None:
    """Parameters that may not be combined with syncToken are refused with 400."""
    _, token, _ = full_sync(svc)
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary", syncToken=token, **param).execute()
    assert info.value.resp.status == 400


def _full_sync_required(info: Any) -> None:
    assert info.value.resp.status == 410
    assert json.loads(info.value.content) == {"error": {"errors": [{
        "domain": "calendar", "reason": "fullSyncRequired",
        "message": "Sync token is no longer valid, a full sync is required.",
        "locationType": "parameter", "location": "syncToken"}], "code": 410,
        "message": "Sync token is no longer valid, a full sync is required."}}


def test_unknown_and_expired_sync_tokens_are_410(g: GoogleKit, svc: Any) -> None:
    """A garbage token, another calendar's token and an expired token all answer the exact 410 body."""
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary", syncToken="garbage").execute()
    _full_sync_required(info)
    team = svc.calendars().insert(body={"summary": "Team"}).execute()
    other = svc.events().list(calendarId=team["id"]).execute()["nextSyncToken"]
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary", syncToken=other).execute()
    _full_sync_required(info)
    _, token, _ = full_sync(svc)
    g.google.expire_sync_tokens()
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary", syncToken=token).execute()
    _full_sync_required(info)
    _, fresh, _ = full_sync(svc)
    assert svc.events().list(calendarId="primary", syncToken=fresh).execute()["items"] == []


def test_time_window_and_empty_range(svc: Any) -> None:
    """timeMin bounds the end and timeMax the start (both exclusive); an empty range is 400 timeRangeEmpty."""
    for hour in (8, 10, 12):
        svc.events().insert(calendarId="primary", body={"summary": f"h{hour}", **when(hour)}).execute()
    got = svc.events().list(calendarId="primary", timeMin="2030-01-01T09:00:00Z",
                            timeMax="2030-01-01T12:00:00Z").execute()["items"]
    assert [e["summary"] for e in got] == ["h10"]
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary", timeMin="2030-01-02T00:00:00Z",
                          timeMax="2030-01-01T00:00:00Z").execute()
    assert info.value.resp.status == 400 and reason(info.value) == "timeRangeEmpty"
    assert json.loads(info.value.content)["error"]["errors"][0]["location"] == "timeMax"
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary", timeMin="2030-01-01T00:00:00").execute()
    assert info.value.resp.status == 400


def test_order_by_start_time_needs_single_events(svc: Any) -> None:
    """orderBy=startTime without singleEvents=true is 400; with it, events come in start order across pages."""
    for hour in (12, 8, 10):
        svc.events().insert(calendarId="primary", body={"summary": f"h{hour}", **when(hour)}).execute()
    with pytest.raises(HttpError):
        svc.events().list(calendarId="primary", orderBy="startTime").execute()
    items, _, pages = full_sync(svc, orderBy="startTime", singleEvents=True, maxResults=2)
    assert [e["summary"] for e in items] == ["h8", "h10", "h12"] and pages == 2


def test_filters_q_icaluid_updated_min_and_extended_properties(g: GoogleKit, svc: Any) -> None:
    """q, iCalUID, updatedMin and private/shared extended-property filters (repeatable, AND) select events."""
    svc.events().insert(calendarId="primary", body={
        "id": "filt0001", "summary": "Board meeting", "extendedProperties": {
            "private": {"calsync": "1", "kind": "rsvp"}, "shared": {"origin": "calsync"}}, **when(9)}).execute()
    svc.events().insert(calendarId="primary", body={
        "id": "filt0002", "summary": "Lunch", "extendedProperties": {"private": {"calsync": "1"}},
        **when(12)}).execute()
    ids = lambda **p: sorted(e["id"] for e in svc.events().list(calendarId="primary", **p).execute()["items"])  # noqa: E731
    assert ids(q="board") == ["filt0001"]
    assert ids(iCalUID="filt0002@google.com") == ["filt0002"]
    assert ids(privateExtendedProperty="calsync=1") == ["filt0001", "filt0002"]
    assert ids(privateExtendedProperty=["calsync=1", "kind=rsvp"]) == ["filt0001"]
    assert ids(sharedExtendedProperty="origin=calsync") == ["filt0001"]
    assert ids(sharedExtendedProperty="calsync=1") == []
    g.running.sandbox.clock.advance(60)
    mark = g.running.sandbox.clock.now_dt().isoformat()
    svc.events().delete(calendarId="primary", eventId="filt0002").execute()
    updated = svc.events().list(calendarId="primary", updatedMin=mark).execute()["items"]
    assert [(e["id"], e["status"]) for e in updated] == [("filt0002", "cancelled")]
