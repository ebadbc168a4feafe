"""The calendar page a person uses, and the /admin/google JSON API."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import CAL, CLIENT_ID, GoogleKit

ALICE, BOB = "alice@example.com", "bob@example.com"


@pytest.fixture
def invited(g: GoogleKit) -> Any:
    alice = g.service(ALICE)
    g.google.create_account(BOB)
    alice.events().insert(calendarId="primary", body={
        "id": "page00001", "summary": "Design review", "attendees": [{"email": BOB}],
        "start": {"dateTime": "2030-03-01T10:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2030-03-01T11:00:00", "timeZone": "Europe/Berlin"}}).execute()
    return alice


def page(g: GoogleKit, email: str) -> str:
    with g.http() as c:
        r = c.get(f"{g.running.base_url}/calendar/google/{email}")
    assert r.status_code == 200
    return r.text


def event_block(text: str, event_id: str) -> str:
    match = re.search(rf'<li class=event data-testid="event-{event_id}">(.*?)</li>', text)
    assert match, text
    return match.group(1)


def act(g: GoogleKit, email: str, action: str, value: str, event_id: str = "page00001") -> Any:
    with g.http() as c:
        return c.post(f"{g.running.base_url}/calendar/google/{email}/action",
                      data={"calendar_id": "primary", "event_id": event_id, "action": action, "value": value})


def test_invitation_shows_rsvp_and_organizer_shows_show_as(g: GoogleKit, invited: Any) -> None:
    """Bob sees Yes/Maybe/No and Delete; Alice, the organizer, sees Busy/Free and Delete but no RSVP."""
    bob = event_block(page(g, BOB), "page00001")
    assert "Design review" in bob and "10:00 to 11:00 (Europe/Berlin)" in bob and ALICE in bob
    assert all(f'data-testid="rsvp-{s}"' in bob for s in ("accepted", "tentative", "declined"))
    assert 'data-testid="event-delete"' in bob and "show-as" not in bob and "needsAction" in bob
    alice = event_block(page(g, ALICE), "page00001")
    assert 'data-testid="show-as-busy"' in alice and 'data-testid="show-as-free"' in alice
    assert "rsvp-" not in alice and 'data-testid="event-delete"' in alice


def test_rsvp_button_goes_through_state_and_sync(g: GoogleKit, invited: Any) -> None:
    """Pressing Yes redirects back, Alice's copy shows Bob accepted, and Alice's sync token sees it."""
    token = invited.events().list(calendarId="primary").execute()["nextSyncToken"]
    r = act(g, BOB, "rsvp", "accepted")
    assert r.status_code == 303 and r.headers["location"] == f"/calendar/google/{BOB}"
    org = invited.events().get(calendarId="primary", eventId="page00001").execute()
    assert {a["email"]: a["responseStatus"] for a in org["attendees"]}[BOB] == "accepted"
    assert invited.events().list(calendarId="primary", syncToken=token).execute()["items"]
    assert 'data-testid="rsvp-accepted" aria-pressed="true"' in event_block(page(g, BOB), "page00001")


def test_show_as_and_delete_buttons(g: GoogleKit, invited: Any) -> None:
    """Free sets transparency; Delete on the organizer's event cancels it for both."""
    assert act(g, ALICE, "transparency", "transparent").status_code == 303
    assert invited.events().get(calendarId="primary", eventId="page00001").execute()["transparency"] == "transparent"
    assert act(g, ALICE, "delete", "").status_code == 303
    assert g.google.events(BOB)[0]["status"] == "cancelled"
    assert 'data-testid="event-page00001"' not in page(g, ALICE)


def test_page_refuses_what_the_product_refuses(g: GoogleKit, invited: Any) -> None:
    """Answering your own event (no attendee entry) is refused with a readable error; unknown accounts are 404."""
    r = act(g, ALICE, "rsvp", "accepted")
    assert r.status_code == 400 and 'data-testid="page-error"' in r.text
    with g.http() as c:
        assert c.get(f"{g.running.base_url}/calendar/google/nobody@example.com").status_code == 404


def test_admin_api(g: GoogleKit, invited: Any) -> None:
    """The admin API registers clients, mints tokens, acts as users, injects faults and reads state."""
    base = f"{g.running.base_url}/admin/google"
    with g.http() as c:
        assert c.post(f"{base}/clients", json={"client_id": "other", "client_secret": "x",
                                               "redirect_uris": ["https://o.example/cb"]}).status_code == 200
        assert c.post(f"{base}/clients", json={"client_id": "bad"}).status_code == 400
        tok = c.post(f"{base}/accounts/{ALICE}/tokens", json={"client_id": CLIENT_ID, "scopes": [CAL]}).json()
        assert tok["access_token"] and tok["refresh_token"]
        accounts = {a["email"]: a for a in c.get(f"{base}/accounts").json()}
        assert set(accounts) == {ALICE, BOB} and CLIENT_ID in accounts[ALICE]["grants"]
        assert c.post(f"{base}/accounts/{BOB}/respond", json={"event_id": "page00001",
                                                                "status": "declined"}).status_code == 200
        assert c.post(f"{base}/accounts/{BOB}/respond", json={"event_id": "page00001",
                                                                "status": "nope"}).status_code == 400
        events = c.get(f"{base}/accounts/{ALICE}/events").json()
        assert {a["email"]: a["responseStatus"] for a in events[0]["attendees"]}[BOB] == "declined"
        assert c.put(f"{base}/quotas", json={"per_user": 5}).json()["per_user"] == 5
        assert c.put(f"{base}/quotas", json={"project_status": 500}).status_code == 400
        assert c.put(f"{base}/channels/max-ttl", json={"seconds": 30}).json() == {"max_ttl": 30.0}
        assert c.get(f"{base}/channels").json() == []
        assert c.post(f"{base}/sync-tokens/expire").status_code == 200
        assert c.post(f"{base}/accounts/{ALICE}/expire-refresh-tokens").json()["expired"] >= 1
        assert c.post(f"{base}/accounts/{ALICE}/password-changed").json()["revoked"] >= 1
        assert c.post(f"{base}/accounts/{BOB}/revoke").json() == {"revoked": 0}
        c.post(f"{base}/accounts/{BOB}/tokens", json={"client_id": CLIENT_ID, "scopes": [CAL]})
        assert c.post(f"{base}/accounts/{BOB}/revoke").json() == {"revoked": 1}
        assert c.post(f"{base}/accounts/{BOB}/delete", json={"event_id": "page00001"}).status_code == 200
        assert c.post(f"{base}/accounts/{BOB}/delete", json={"event_id": "page00001"}).status_code == 410
        assert g.api("GET", "users/me/calendarList", tok["access_token"]).status_code == 401
        assert c.post(f"{base}/reset").status_code == 200
    assert g.google.account_emails() == []
