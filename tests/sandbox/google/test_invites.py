"""Invitations between sandbox accounts: copies, attendee-only changes, responses and cancellation (§1.2)."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from .conftest import GoogleKit, reason, when

ALICE, BOB = "alice@example.com", "bob@example.com"


@pytest.fixture
def pair(g: GoogleKit) -> tuple[Any, Any]:
    """Alice (organizer) and Bob (attendee), both sandbox accounts, with one invitation from Alice to Bob."""
    alice, bob = g.service(ALICE), g.service(BOB)
    alice.events().insert(calendarId="primary", body={
        "id": "invite0001", "summary": "Planning", "location": "Room 1",
        "attendees": [{"email": BOB}, {"email": "outsider@elsewhere.example"}],
        "extendedProperties": {"shared": {"k": "v"}, "private": {"mine": "alice"}}, **when(9)}).execute()
    return alice, bob


def test_attendee_gets_a_copy(pair: tuple[Any, Any]) -> None:
    """Bob's primary calendar holds the event: same id, organizer Alice, Bob self and needsAction; no private props."""
    _, bob = pair
    copy = bob.events().get(calendarId="primary", eventId="invite0001").execute()
    assert copy["organizer"] == {"email": ALICE} and copy["summary"] == "Planning"
    me = [a for a in copy["attendees"] if a.get("self")]
    assert me == [{"email": BOB, "responseStatus": "needsAction", "self": True}]
    assert copy["extendedProperties"] == {"shared": {"k": "v"}}


def test_response_flows_to_organizer_and_both_change_logs(pair: tuple[Any, Any]) -> None:
    """Bob's accept shows on Alice's copy, and both calendars' sync tokens see the change."""
    alice, bob = pair
    alice_token = alice.events().list(calendarId="primary").execute()["nextSyncToken"]
    bob_token = bob.events().list(calendarId="primary").execute()["nextSyncToken"]
    copy = bob.events().get(calendarId="primary", eventId="invite0001").execute()
    for a in copy["attendees"]:
        if a.get("self"):
            a["responseStatus"] = "accepted"
    bob.events().patch(calendarId="primary", eventId="invite0001", body={"attendees": copy["attendees"]}).execute()
    org = alice.events().get(calendarId="primary", eventId="invite0001").execute()
    assert {a["email"]: a["responseStatus"] for a in org["attendees"]}[BOB] == "accepted"
    assert [e["id"] for e in alice.events().list(calendarId="primary", syncToken=alice_token).execute()["items"]] \
        == ["invite0001"]
    assert [e["id"] for e in bob.events().list(calendarId="primary", syncToken=bob_token).execute()["items"]] \
        == ["invite0001"]


def test_organizer_edits_and_cancellation_propagate(pair: tuple[Any, Any]) -> None:
    """Alice's move reaches Bob's copy (sequence bumped); her delete cancels it; his private fields stay his."""
    alice, bob = pair
    bob.events().patch(calendarId="primary", eventId="invite0001",
                       body={"transparency": "transparent",
                             "extendedProperties": {"private": {"bob": "1"}}}).execute()
    alice.events().patch(calendarId="primary", eventId="invite0001", body=when(14)).execute()
    copy = bob.events().get(calendarId="primary", eventId="invite0001").execute()
    assert copy["start"] == when(14)["start"] and copy["sequence"] == 1
    assert copy["transparency"] == "transparent" and copy["extendedProperties"]["private"] == {"bob": "1"}
    alice.events().delete(calendarId="primary", eventId="invite0001").execute()
    assert bob.events().get(calendarId="primary", eventId="invite0001").execute()["status"] == "cancelled"


def test_removed_attendee_copy_is_cancelled(pair: tuple[Any, Any]) -> None:
    """Dropping Bob from the attendees cancels his copy."""
    alice, bob = pair
    alice.events().patch(calendarId="primary", eventId="invite0001", body={"attendees": []}).execute()
    assert bob.events().get(calendarId="primary", eventId="invite0001").execute()["status"] == "cancelled"


@pytest.mark.parametrize(("change", "message_part"), [
    ({"summary": "Bob's title"}, "summary"),
    ({"location": "Elsewhere"}, "location"),
    ({"attendees": [{"email": BOB}]}, "attendees"),
    ({"extendedProperties": {"shared": {"k": "bob"}}},
     "Shared properties can only be changed by the organizer of the event."),
])
def test_attendee_may_not_change_shared_fields(pair: tuple[Any, Any], change: dict[str, Any],
                                               message_part: str) -> None:
    """An attendee changing anything beyond their response and personal fields gets 403 forbiddenForNonOrganizer."""
    _, bob = pair
    with pytest.raises(HttpError) as info:
        bob.events().patch(calendarId="primary", eventId="invite0001", body=change).execute()
    assert info.value.resp.status == 403 and reason(info.value) == "forbiddenForNonOrganizer"
    assert message_part in str(info.value)


def test_attendee_delete_removes_and_declines(g: GoogleKit, pair: tuple[Any, Any]) -> None:
    """Bob deleting the invitation cancels his copy and shows him as declined to Alice."""
    alice, bob = pair
    bob.events().delete(calendarId="primary", eventId="invite0001").execute()
    assert bob.events().get(calendarId="primary", eventId="invite0001").execute()["status"] == "cancelled"
    org = alice.events().get(calendarId="primary", eventId="invite0001").execute()
    assert org["status"] == "confirmed"
    assert {a["email"]: a["responseStatus"] for a in org["attendees"]}[BOB] == "declined"
    g.google.respond(BOB, "invite0001", "accepted")
    assert bob.events().get(calendarId="primary", eventId="invite0001").execute()["status"] == "confirmed"


def test_python_respond_and_organizer_cannot_override_response(g: GoogleKit, pair: tuple[Any, Any]) -> None:
    """respond() answers as Bob; a later organizer update that resends needsAction does not undo his answer."""
    alice, _ = pair
    g.google.respond(BOB, "invite0001", "tentative", comment="maybe")
    org = alice.events().get(calendarId="primary", eventId="invite0001").execute()
    alice.events().update(calendarId="primary", eventId="invite0001", body={
        "summary": "Planning 2", "attendees": [{"email": BOB, "responseStatus": "needsAction"}], **when(9)}).execute()
    mine = [a for a in g.google.events(BOB)[0]["attendees"] if a["email"] == BOB][0]
    assert mine["responseStatus"] == "tentative" and mine["comment"] == "maybe"
    assert org["etag"] != alice.events().get(calendarId="primary", eventId="invite0001").execute()["etag"]
