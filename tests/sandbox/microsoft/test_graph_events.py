"""Graph v1.0 calendar contract over HTTPS with httpx: calendars, events, etags, organizer, transactionId,
extended properties, time zones, OData options and the error envelope (§3.1-3.4, §3.8)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from calsync.sandbox.microsoft import MicrosoftSandbox
from calsync.sandbox.server import RunningSandbox

from .conftest import event_body

PROP = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name CalsyncKey"


def assert_envelope(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message"]
    assert {"date", "request-id", "client-request-id"} <= set(err["innerError"])


def test_auth_required(sandbox: RunningSandbox, ms: MicrosoftSandbox, http: httpx.Client) -> None:
    """Missing, unknown and expired bearer tokens get 401 InvalidAuthenticationToken."""
    graph = sandbox.endpoints["microsoft"]["graph"]
    assert_envelope(http.get(graph + "/me/events"), 401, "InvalidAuthenticationToken")
    assert_envelope(http.get(graph + "/me/events", headers={"Authorization": "Bearer junk"}), 401,
                    "InvalidAuthenticationToken")


def test_expired_access_token(sandbox: RunningSandbox, graph_for: Callable[..., httpx.Client]) -> None:
    """An access token past its lifetime is refused with 401 'expired'."""
    g = graph_for("a@example.com")
    sandbox.sandbox.clock.advance(3601)
    r = g.get("/me/events")
    assert_envelope(r, 401, "InvalidAuthenticationToken")
    assert "expired" in r.json()["error"]["message"]


def test_scopes_enforced(graph_for: Callable[..., httpx.Client]) -> None:
    """Without Calendars.* the calendar API is 403; Calendars.Read may read but not write."""
    none = graph_for("b@example.com", "User.Read")
    assert none.get("/me").status_code == 200
    assert_envelope(none.get("/me/events"), 403, "ErrorAccessDenied")
    ro = graph_for("b@example.com", "Calendars.Read")
    assert ro.get("/me/events").status_code == 200
    assert_envelope(ro.post("/me/events", json=event_body()), 403, "ErrorAccessDenied")


def test_users_path_equivalent_and_other_mailbox_denied(graph_for: Callable[..., httpx.Client]) -> None:
    """/users/{upn} and /users/{id} address the signed-in mailbox; another user's mailbox is 403."""
    g = graph_for("c@example.com")
    me = g.get("/me").json()
    created = g.post(f"/users/{me['userPrincipalName']}/events", json=event_body()).json()
    assert g.get(f"/users/{me['id']}/events/{created['id']}").status_code == 200
    graph_for("other@example.com")
    assert_envelope(g.get("/users/other@example.com/events"), 403, "ErrorAccessDenied")


def test_calendars_list_create_conflict_and_paging(graph_for: Callable[..., httpx.Client],
                                                    ms: MicrosoftSandbox) -> None:
    """Calendars: default listed, POST 201, duplicate name 409 ErrorFolderExists (configurable), paging."""
    g = graph_for("d@example.com")
    default = g.get("/me/calendar").json()
    assert default["isDefaultCalendar"] is True and default["name"] == "Calendar"
    r = g.post("/me/calendars", json={"name": "calsync"})
    assert r.status_code == 201 and r.json()["isDefaultCalendar"] is False
    assert_envelope(g.post("/me/calendars", json={"name": "CalSync"}), 409, "ErrorFolderExists")
    ms.settings.duplicate_calendar_name_conflict = False
    assert g.post("/me/calendars", json={"name": "calsync"}).status_code == 201
    page = g.get("/me/calendars", params={"$top": 2}).json()
    assert len(page["value"]) == 2 and "@odata.nextLink" in page
    rest = g.get(page["@odata.nextLink"]).json()
    assert len(rest["value"]) == 1 and "@odata.nextLink" not in rest


def test_event_crud_and_calendar_scoping(graph_for: Callable[..., httpx.Client]) -> None:
    """Create 201, get, patch 200, delete 204, then 404 ErrorItemNotFound; per-calendar paths scope events."""
    g = graph_for("e@example.com")
    cal = g.post("/me/calendars", json={"name": "Work"}).json()
    r = g.post(f"/me/calendars/{cal['id']}/events", json=event_body("Review"))
    assert r.status_code == 201
    ev = r.json()
    assert ev["isOrganizer"] is True and ev["responseStatus"]["response"] == "organizer"
    assert ev["organizer"]["emailAddress"]["address"] == "e@example.com" and ev["type"] == "singleInstance"
    assert [e["id"] for e in g.get(f"/me/calendars/{cal['id']}/events").json()["value"]] == [ev["id"]]
    assert g.get("/me/calendar/events").json()["value"] == []
    assert g.get(f"/me/events/{ev['id']}").json()["subject"] == "Review"
    patched = g.patch(f"/me/events/{ev['id']}", json={"subject": "Review v2"})
    assert patched.status_code == 200 and patched.json()["subject"] == "Review v2"
    assert g.delete(f"/me/events/{ev['id']}").status_code == 204
    assert_envelope(g.get(f"/me/events/{ev['id']}"), 404, "ErrorItemNotFound")
    assert_envelope(g.delete(f"/me/events/{ev['id']}"), 404, "ErrorItemNotFound")


def test_etag_changes_and_if_match(graph_for: Callable[..., httpx.Client]) -> None:
    """Every change yields a new @odata.etag and changeKey; If-Match with a stale etag gets 412."""
    g = graph_for("f@example.com")
    ev = g.post("/me/events", json=event_body()).json()
    assert ev["@odata.etag"] == f'W/"{ev["changeKey"]}"'
    new = g.patch(f"/me/events/{ev['id']}", json={"subject": "x"}, headers={"If-Match": ev["@odata.etag"]}).json()
    assert new["changeKey"] != ev["changeKey"] and new["@odata.etag"] != ev["@odata.etag"]
    assert_envelope(g.patch(f"/me/events/{ev['id']}", json={"subject": "y"}, headers={"If-Match": ev["@odata.etag"]}),
                    412, "ErrorIrresolvableConflict")
    assert_envelope(g.delete(f"/me/events/{ev['id']}", headers={"If-Match": ev["@odata.etag"]}), 412,
                    "ErrorIrresolvableConflict")
    assert g.delete(f"/me/events/{ev['id']}", headers={"If-Match": new["@odata.etag"]}).status_code == 204


def test_organizer_is_read_only_and_cannot_respond(graph_for: Callable[..., httpx.Client]) -> None:
    """A supplied organizer is ignored (the owner organizes); the organizer cannot accept/decline (400)."""
    g = graph_for("g@example.com")
    ev = g.post("/me/events", json=event_body(organizer={"emailAddress": {"address": "boss@example.com"}})).json()
    assert ev["organizer"]["emailAddress"]["address"] == "g@example.com"
    for action in ("accept", "tentativelyAccept", "decline"):
        r = g.post(f"/me/events/{ev['id']}/{action}", json={"sendResponse": True})
        assert_envelope(r, 400, "ErrorInvalidRequest")
        assert "you're the meeting organizer" in r.json()["error"]["message"]


def test_transaction_id(graph_for: Callable[..., httpx.Client], ms: MicrosoftSandbox) -> None:
    """transactionId is returned only when set; reuse gives 400 ErrorDuplicateTransactionId, identical retries
    too by default, and 'return_original' returns the first event instead."""
    g = graph_for("h@example.com")
    plain = g.post("/me/events", json=event_body()).json()
    assert "transactionId" not in plain
    body = event_body(transactionId="tx-1")
    first = g.post("/me/events", json=body).json()
    assert first["transactionId"] == "tx-1"
    r = g.post("/me/events", json=event_body("Other", transactionId="tx-1"))
    assert_envelope(r, 400, "ErrorDuplicateTransactionId")
    assert "already been used to create a different event" in r.json()["error"]["message"]
    assert_envelope(g.post("/me/events", json=body), 400, "ErrorDuplicateTransactionId")
    ms.settings.transaction_id_identical_retry = "return_original"
    assert g.post("/me/events", json=body).json()["id"] == first["id"]
    assert_envelope(g.patch(f"/me/events/{first['id']}", json={"transactionId": "tx-2"}), 400,
                    "ErrorInvalidPropertyUpdate")
    assert len(g.get("/me/events").json()["value"]) == 2


def test_extended_properties_write_expand_filter(graph_for: Callable[..., httpx.Client]) -> None:
    """Extended properties are written on POST/PATCH, hidden by default, read via $expand and filtered with Any
    (name case-sensitive, value case-insensitive, URL-encoded id accepted)."""
    g = graph_for("i@example.com")
    ev = g.post("/me/events", json=event_body(singleValueExtendedProperties=[{"id": PROP, "value": "Key-1"}])).json()
    other = g.post("/me/events", json=event_body("other")).json()
    assert "singleValueExtendedProperties" not in g.get(f"/me/events/{ev['id']}").json()
    expand = f"singleValueExtendedProperties($filter=id eq '{PROP}')"
    got = g.get(f"/me/events/{ev['id']}", params={"$expand": expand}).json()
    assert got["singleValueExtendedProperties"] == [{"id": PROP, "value": "Key-1"}]
    flt = f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}' and ep/value eq 'key-1')"
    assert [e["id"] for e in g.get("/me/events", params={"$filter": flt}).json()["value"]] == [ev["id"]]
    wrong_case = flt.replace("CalsyncKey", "calsynckey")
    assert g.get("/me/events", params={"$filter": wrong_case}).json()["value"] == []
    encoded = flt.replace(PROP, PROP.replace(" ", "%20"))
    assert len(g.get("/me/events", params={"$filter": encoded}).json()["value"]) == 1
    g.patch(f"/me/events/{other['id']}", json={"singleValueExtendedProperties": [{"id": PROP, "value": "k2"}]})
    flt2 = f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}' and ep/value eq 'K2')"
    assert [e["id"] for e in g.get("/me/events", params={"$filter": flt2}).json()["value"]] == [other["id"]]
    assert_envelope(g.get("/me/events", params={"$filter": "start/dateTime ge '2030-01-01'"}), 400,
                    "ErrorInvalidUrlQueryFilter")


def test_time_zones_windows_iana_and_prefer(graph_for: Callable[..., httpx.Client]) -> None:
    """Windows and IANA names are accepted; responses are UTC with 7 digits unless Prefer asks for a zone."""
    g = graph_for("j@example.com")
    ev = g.post("/me/events", json=event_body(start="2030-07-01T09:00:00", end="2030-07-01T10:00:00",
                                              tz="Pacific Standard Time")).json()
    assert ev["start"] == {"dateTime": "2030-07-01T16:00:00.0000000", "timeZone": "UTC"}
    assert ev["originalStartTimeZone"] == "Pacific Standard Time"
    iana = g.post("/me/events", json=event_body(start="2030-07-01T09:00:00", end="2030-07-01T10:00:00",
                                                tz="Europe/Berlin")).json()
    assert iana["start"]["dateTime"] == "2030-07-01T07:00:00.0000000" and iana["originalEndTimeZone"] == "Europe/Berlin"
    r = g.get(f"/me/events/{ev['id']}", headers={"Prefer": 'outlook.timezone="W. Europe Standard Time"'})
    assert r.json()["start"] == {"dateTime": "2030-07-01T18:00:00.0000000", "timeZone": "W. Europe Standard Time"}
    assert r.headers["preference-applied"] == 'outlook.timezone="W. Europe Standard Time"'
    assert_envelope(g.post("/me/events", json=event_body(tz="Mars/Olympus")), 400, "TimeZoneNotSupportedException")


def test_all_day_and_ordering_validation(graph_for: Callable[..., httpx.Client]) -> None:
    """isAllDay needs midnight start/end; end must follow start; all-day renders as floating midnight."""
    g = graph_for("k@example.com")
    ok = g.post("/me/events", json=event_body(start="2030-05-01T00:00:00", end="2030-05-02T00:00:00",
                                              tz="Tokyo Standard Time", isAllDay=True))
    assert ok.status_code == 201
    assert ok.json()["start"]["dateTime"] == "2030-05-01T00:00:00.0000000"
    prefer = g.get(f"/me/events/{ok.json()['id']}", headers={"Prefer": 'outlook.timezone="America/New_York"'})
    assert prefer.json()["start"]["dateTime"] == "2030-05-01T00:00:00.0000000"
    bad = g.post("/me/events", json=event_body(start="2030-05-01T09:00:00", end="2030-05-02T00:00:00",
                                               isAllDay=True))
    assert bad.status_code == 400 and "midnight" in bad.json()["error"]["message"]
    backwards = g.post("/me/events", json=event_body(start="2030-05-01T10:00:00", end="2030-05-01T09:00:00"))
    assert backwards.status_code == 400 and "after its start" in backwards.json()["error"]["message"]


def test_list_select_top_orderby_and_page_size(graph_for: Callable[..., httpx.Client]) -> None:
    """$select trims fields, $orderby sorts, Prefer odata.maxpagesize pages with a replayable nextLink."""
    g = graph_for("l@example.com")
    for i in range(5):
        g.post("/me/events", json=event_body(f"e{i}", start=f"2030-01-0{5 - i}T09:00:00",
                                             end=f"2030-01-0{5 - i}T10:00:00"))
    page = g.get("/me/events", params={"$select": "subject", "$orderby": "start/dateTime"},
                 headers={"Prefer": "odata.maxpagesize=2"}).json()
    assert [e["subject"] for e in page["value"]] == ["e4", "e3"]
    assert set(page["value"][0]) == {"@odata.etag", "id", "subject"}
    seen = [e["subject"] for e in page["value"]]
    while "@odata.nextLink" in page:
        page = g.get(page["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=2"}).json()
        seen += [e["subject"] for e in page["value"]]
    assert seen == ["e4", "e3", "e2", "e1", "e0"]
    assert g.get("/me/events", params={"$orderby": "bogus"}).status_code == 400


def test_unknown_property_and_bad_json(graph_for: Callable[..., httpx.Client]) -> None:
    """Unknown properties and malformed JSON are 400 with a message naming the problem."""
    g = graph_for("m@example.com")
    r = g.post("/me/events", json=event_body(colour="red"))
    assert r.status_code == 400 and "colour" in r.json()["error"]["message"]
    r = g.post("/me/events", content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400


@pytest.mark.parametrize("status", [429, 500, 503, 504])
def test_injected_faults_use_graph_envelope(sandbox: RunningSandbox, graph_for: Callable[..., httpx.Client],
                                            status: int) -> None:
    """FaultMiddleware failures on Graph come back in Graph's envelope (429/503 with Retry-After)."""
    g = graph_for("n@example.com")
    sandbox.sandbox.faults.microsoft.fail_next(status, path_contains="/graph/", retry_after=3)
    r = g.get("/me/events")
    assert r.status_code == status and r.json()["error"]["code"]
    if status in (429, 503):
        assert r.headers["retry-after"] == "3"
