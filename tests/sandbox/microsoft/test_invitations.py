"""Meetings between sandbox mailboxes: copies, responses, propagation and cancellation (§3.1, §3.2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from calsync.sandbox.microsoft import MicrosoftSandbox

from .conftest import event_body


def invite(g: httpx.Client, *emails: str, **extra: Any) -> dict[str, Any]:
    attendees = [{"emailAddress": {"address": e}, "type": "required"} for e in emails]
    r = g.post("/me/events", json=event_body("Planning", attendees=attendees, **extra))
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def only(g: httpx.Client) -> dict[str, Any]:
    (ev,) = g.get("/me/events").json()["value"]
    return ev  # type: ignore[no-any-return]


def test_invitation_lands_in_attendee_calendar(graph_for: Callable[..., httpx.Client]) -> None:
    """Y's copy has its own id, the same iCalUId, isOrganizer false, notResponded and X as organizer."""
    y = graph_for("y@example.com")
    x = graph_for("x@example.com")
    master = invite(x, "y@example.com", "outsider@elsewhere.example")
    copy = only(y)
    assert copy["id"] != master["id"] and copy["iCalUId"] == master["iCalUId"]
    assert copy["isOrganizer"] is False and copy["responseStatus"]["response"] == "notResponded"
    assert copy["organizer"]["emailAddress"]["address"] == "x@example.com"
    assert {a["status"]["response"] for a in master["attendees"]} == {"none"}


def test_accept_and_tentative_update_both_sides(graph_for: Callable[..., httpx.Client]) -> None:
    """accept / tentativelyAccept answer 202 with no body and set both Y's response and X's attendee status."""
    y = graph_for("y@example.com")
    x = graph_for("x@example.com")
    master = invite(x, "y@example.com")
    copy = only(y)
    r = y.post(f"/me/events/{copy['id']}/accept", json={"comment": "see you", "sendResponse": True})
    assert r.status_code == 202 and r.content == b""
    assert only(y)["responseStatus"]["response"] == "accepted"
    status = x.get(f"/me/events/{master['id']}").json()["attendees"][0]["status"]["response"]
    assert status == "accepted"
    assert y.post(f"/me/events/{copy['id']}/tentativelyAccept", json={}).status_code == 202
    assert only(y)["showAs"] == "tentative"
    assert x.get(f"/me/events/{master['id']}").json()["attendees"][0]["status"]["response"] == "tentativelyAccepted"


def test_send_response_false_keeps_organizer_unaware(graph_for: Callable[..., httpx.Client]) -> None:
    """With sendResponse false the attendee's copy changes but the organizer's attendee status does not."""
    y = graph_for("y@example.com")
    x = graph_for("x@example.com")
    master = invite(x, "y@example.com")
    y.post(f"/me/events/{only(y)['id']}/accept", json={"sendResponse": False})
    assert x.get(f"/me/events/{master['id']}").json()["attendees"][0]["status"]["response"] == "none"


def test_decline_removes_copy_by_default(graph_for: Callable[..., httpx.Client], ms: MicrosoftSandbox) -> None:
    """Declining removes Y's copy (Outlook's Deleted Items) unless the setting keeps it; X sees declined."""
    y = graph_for("y@example.com")
    x = graph_for("x@example.com")
    master = invite(x, "y@example.com")
    copy = only(y)
    assert y.post(f"/me/events/{copy['id']}/decline", json={}).status_code == 202
    assert y.get("/me/events").json()["value"] == []
    assert x.get(f"/me/events/{master['id']}").json()["attendees"][0]["status"]["response"] == "declined"
    ms.settings.decline_removes_from_calendar = False
    invite(x, "y@example.com")
    second = only(y)
    y.post(f"/me/events/{second['id']}/decline", json={})
    kept = only(y)
    assert kept["responseStatus"]["response"] == "declined" and kept["showAs"] == "free"


def test_organizer_patch_propagates_and_time_change_resets(graph_for: Callable[..., httpx.Client]) -> None:
    """X's PATCH reaches Y's copy; a time change resets Y's response to notResponded."""
    y = graph_for("y@example.com")
    x = graph_for("x@example.com")
    master = invite(x, "y@example.com")
    y.post(f"/me/events/{only(y)['id']}/accept", json={})
    x.patch(f"/me/events/{master['id']}", json={"subject": "Planning (room 4)"})
    copy = only(y)
    assert copy["subject"] == "Planning (room 4)" and copy["responseStatus"]["response"] == "accepted"
    x.patch(f"/me/events/{master['id']}", json={"start": {"dateTime": "2030-03-04T11:00:00", "timeZone": "UTC"},
                                                  "end": {"dateTime": "2030-03-04T12:00:00", "timeZone": "UTC"}})
    copy = only(y)
    assert copy["start"]["dateTime"].startswith("2030-03-04T11:00")
    assert copy["responseStatus"]["response"] == "notResponded"


def test_organizer_delete_cancels_copy(graph_for: Callable[..., httpx.Client]) -> None:
    """X's DELETE marks Y's copy isCancelled (still in Y's calendar); Y can no longer respond."""
    y = graph_for("y@example.com")
    x = graph_for("x@example.com")
    master = invite(x, "y@example.com")
    assert x.delete(f"/me/events/{master['id']}").status_code == 204
    copy = only(y)
    assert copy["isCancelled"] is True and copy["subject"].startswith("Canceled: ")
    assert y.post(f"/me/events/{copy['id']}/accept", json={}).status_code == 400


def test_python_api_responds_and_deletes_as_user(graph_for: Callable[..., httpx.Client], ms: MicrosoftSandbox) -> None:
    """respond_as / delete_as act as the person in Outlook and show up through Graph."""
    x = graph_for("x@example.com")
    ms.create_account("y@example.com")
    master = invite(x, "y@example.com")
    (copy,) = ms.events("y@example.com")
    ms.respond_as("y@example.com", copy["id"], "tentativelyAccept")
    assert x.get(f"/me/events/{master['id']}").json()["attendees"][0]["status"]["response"] == "tentativelyAccepted"
    ms.delete_as("x@example.com", master["id"])
    assert ms.events("y@example.com")[0]["isCancelled"] is True
