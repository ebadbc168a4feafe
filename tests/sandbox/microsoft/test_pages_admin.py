"""The Outlook-like calendar page and the /admin/microsoft JSON API."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from calsync.sandbox.microsoft import MicrosoftSandbox
from calsync.sandbox.server import RunningSandbox

from .conftest import REDIRECT, event_body


def test_page_shows_controls_per_kind(graph_for: Callable[..., httpx.Client], http: httpx.Client) -> None:
    """An invitation offers Accept/Tentative/Decline only; an organized event offers Show as and Delete only."""
    graph_for("y@example.com")
    x = graph_for("x@example.com")
    own = x.post("/me/events", json=event_body("Mine", attendees=[{"emailAddress": {"address": "y@example.com"}}]))
    page = http.get("/calendar/microsoft/y@example.com").text
    assert 'data-testid="rsvp-accept"' in page and 'data-testid="rsvp-decline"' in page
    assert 'data-testid="delete-event"' not in page and "x@example.com" in page and "Not responded" in page
    mine = http.get("/calendar/microsoft/x@example.com").text
    assert f'data-testid="event-{own.json()["id"]}"' in mine
    assert 'data-testid="show-as"' in mine and 'data-testid="delete-event"' in mine
    assert 'data-testid="rsvp-accept"' not in mine and "viewport" in mine and "<label" in mine


def test_page_actions_go_through_graph_state(graph_for: Callable[..., httpx.Client], http: httpx.Client) -> None:
    """Accept on the page updates the organizer's attendee status; Show as and Delete change the event."""
    y = graph_for("y@example.com")
    x = graph_for("x@example.com")
    master = x.post("/me/events", json=event_body(attendees=[{"emailAddress": {"address": "y@example.com"}}])).json()
    (copy,) = y.get("/me/events").json()["value"]
    r = http.post(f"/calendar/microsoft/y@example.com/events/{copy['id']}/respond", data={"action": "accept"})
    assert r.status_code == 303
    assert x.get(f"/me/events/{master['id']}").json()["attendees"][0]["status"]["response"] == "accepted"
    http.post(f"/calendar/microsoft/x@example.com/events/{master['id']}/show-as", data={"show_as": "oof"})
    assert x.get(f"/me/events/{master['id']}").json()["showAs"] == "oof"
    bad = http.post(f"/calendar/microsoft/x@example.com/events/{master['id']}/respond", data={"action": "accept"})
    assert bad.status_code == 303 and "error=" in bad.headers["location"]
    http.post(f"/calendar/microsoft/x@example.com/events/{master['id']}/delete")
    assert x.get(f"/me/events/{master['id']}").status_code == 404
    assert y.get("/me/events").json()["value"][0]["isCancelled"] is True


def test_admin_api(sandbox: RunningSandbox, http: httpx.Client, ms: MicrosoftSandbox,
                   graph_for: Callable[..., httpx.Client]) -> None:
    """Admin routes register clients, list accounts, act as users, change settings and refuse bad input."""
    r = http.post("/admin/microsoft/clients", json={"client_id": "app2", "redirect_uris": [REDIRECT]})
    assert r.status_code == 201 and r.json()["confidential"] is False
    assert http.post("/admin/microsoft/clients", json={"client_id": "x"}).status_code == 400
    assert http.post("/admin/microsoft/accounts", json={"email": "ann@example.com"}).status_code == 201
    made = http.post("/admin/microsoft/accounts/ann@example.com/events", json=event_body("from admin")).json()
    events = http.get("/admin/microsoft/accounts/ann@example.com/events").json()
    assert [e["subject"] for e in events] == ["from admin"]
    assert http.delete(f"/admin/microsoft/accounts/ann@example.com/events/{made['id']}").status_code == 200
    assert http.get("/admin/microsoft/accounts/ann@example.com/events").json() == []
    assert http.post("/admin/microsoft/accounts/nobody@example.com/revoke").status_code == 404
    assert {a["email"] for a in http.get("/admin/microsoft/accounts").json()} == {"ann@example.com"}
    s = http.put("/admin/microsoft/settings", json={"decline_removes_from_calendar": False}).json()
    assert s["decline_removes_from_calendar"] is False and ms.settings.decline_removes_from_calendar is False
    assert http.put("/admin/microsoft/settings", json={"nonsense": 1}).status_code == 400
    assert http.put("/admin/microsoft/throttling", json={"mailbox_concurrency": 2}).json()["mailbox_concurrency"] == 2
    assert http.put("/admin/microsoft/subscriptions/max-lifetime", json={"minutes": 4230}).status_code == 200
    assert http.post("/admin/microsoft/delta/expire", json={}).json() == {"expired": 0}
    g = graph_for("bo@example.com")
    token = g.headers["Authorization"]
    assert http.post("/admin/microsoft/accounts/bo@example.com/revoke").json()["affected"] == 1
    assert g.get("/me", headers={"Authorization": token}).status_code == 401
    assert http.post("/admin/microsoft/reset").status_code == 200 and ms.account_emails() == []


def test_index_lists_microsoft_accounts(http: httpx.Client, ms: MicrosoftSandbox) -> None:
    """The shell's index page links each Microsoft mailbox's calendar page."""
    ms.create_account("zed@example.com")
    assert re.search(r'href="/calendar/microsoft/zed@example.com"', http.get("/").text)
