"""The sync badge's decision table (calsync.services.badges.decide), one case per row, both providers."""

from __future__ import annotations

import datetime as dt

import pytest

from calsync.core.connection import RECONNECT_FIX, Connection, ConnectionStatus, Provider
from calsync.core.model import RsvpStatus
from calsync.services.badges import (
    CONNECT_FIX,
    FEATURE_UNAVAILABLE,
    RESYNC_FIX,
    BadgeKind,
    EntryFacts,
    decide,
)

T = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def connection(
    status: ConnectionStatus = ConnectionStatus.CONNECTED,
    provider: Provider = Provider.GOOGLE,
    error_reason: str | None = None,
) -> Connection:
    return Connection(
        id=1,
        person_id=1,
        organization_id=1,
        provider=provider,
        account_email="max@example.org",
        status=status,
        error_reason=error_reason,
        need_full_sync=False,
        need_full_sync_reason=None,
        target_calendar_id="primary",
        target_calendar_name="Max's calendar",
        dedicated_calendar=False,
        scopes=(),
        connected_at=T,
        disconnected_at=None,
        last_success_at=T,
        last_attempt_at=T,
        last_error_at=None,
        pending_changes=0,
        channel_expires_at=None,
    )


def entry(
    provider_id: str | None = "abc",
    dirty: bool = False,
    create_pending: bool = False,
    tombstone: bool = False,
    last_error: str | None = None,
) -> EntryFacts:
    return EntryFacts(provider_id, dirty, create_pending, tombstone, last_error)


CONNECTED = connection()
OUTLOOK = connection(provider=Provider.MICROSOFT)
BROKEN = connection(ConnectionStatus.ERROR, error_reason="Google says the permission was revoked.")
GONE = connection(ConnectionStatus.DISCONNECTED)
A, T_, D, N = RsvpStatus.ACCEPTED, RsvpStatus.TENTATIVE, RsvpStatus.DECLINED, RsvpStatus.NEEDS_ACTION

CASES = [
    # (id, events on, rsvp, connection, entry, expected kind or None, text fragment)
    ("module-off", False, A, CONNECTED, entry(), BadgeKind.UNAVAILABLE, FEATURE_UNAVAILABLE),
    ("declined", True, D, CONNECTED, entry(), None, None),
    ("needs-action", True, N, CONNECTED, None, None, None),
    ("no-rsvp", True, None, CONNECTED, None, None, None),
    ("declined-no-connection", True, D, None, None, None, None),
    ("no-connection", True, A, None, None, BadgeKind.NOT_CONNECTED, "Connect your calendar"),
    ("tentative-no-connection", True, T_, None, None, BadgeKind.NOT_CONNECTED, CONNECT_FIX),
    ("disconnected", True, A, GONE, entry(), BadgeKind.NOT_CONNECTED, CONNECT_FIX),
    ("error-in-calendar", True, A, BROKEN, entry(), BadgeKind.OUTDATED, "In your Google Calendar, not kept up to date"),
    (
        "error-never-written",
        True,
        A,
        BROKEN,
        None,
        BadgeKind.NOT_IN_CALENDAR,
        "permission was revoked. " + RECONNECT_FIX,
    ),
    ("error-tombstone", True, A, BROKEN, entry(tombstone=True), BadgeKind.NOT_IN_CALENDAR, RECONNECT_FIX),
    ("tombstone", True, A, CONNECTED, entry(tombstone=True), BadgeKind.NOT_IN_CALENDAR, RESYNC_FIX),
    (
        "entry-error-never-written",
        True,
        A,
        CONNECTED,
        entry(provider_id=None, last_error="Calendar is read-only"),
        BadgeKind.NOT_IN_CALENDAR,
        "Calendar is read-only",
    ),
    (
        "error-after-written",
        True,
        A,
        CONNECTED,
        entry(dirty=True, last_error="Rate limited"),
        BadgeKind.OUTDATED,
        "Rate limited",
    ),
    ("in-google", True, A, CONNECTED, entry(), BadgeKind.IN_CALENDAR, "In your Google Calendar"),
    ("in-outlook", True, T_, OUTLOOK, entry(), BadgeKind.IN_CALENDAR, "In your Outlook calendar"),
    ("no-entry-yet", True, A, CONNECTED, None, BadgeKind.SYNCING, "Syncing…"),
    ("dirty", True, A, CONNECTED, entry(dirty=True), BadgeKind.SYNCING, "Syncing…"),
    ("create-pending", True, A, CONNECTED, entry(create_pending=True), BadgeKind.SYNCING, "Syncing…"),
    ("not-written", True, A, OUTLOOK, entry(provider_id=None, dirty=True), BadgeKind.SYNCING, "your Outlook calendar"),
]


@pytest.mark.parametrize(
    ("events_on", "rsvp", "conn", "facts", "kind", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_badge_decision(events_on, rsvp, conn, facts, kind, fragment) -> None:
    """Each row of the decision table gives its badge kind and says the reason and the fix in words."""
    badge = decide(events_enabled=events_on, rsvp=rsvp, connection=conn, entry=facts)
    if kind is None:
        assert badge is None
        return
    assert badge is not None and badge.kind is kind
    assert fragment in f"{badge.text} {badge.detail or ''} {badge.fix or ''}"


def test_in_calendar_names_the_target_calendar() -> None:
    """An entry in the calendar says which calendar it is in (the seeds' "check the right calendar")."""
    badge = decide(events_enabled=True, rsvp=A, connection=CONNECTED, entry=entry())
    assert badge is not None and badge.detail == "In the calendar “Max's calendar”."


def test_error_reason_without_final_stop_still_reads_as_a_sentence() -> None:
    """A connection error reason without a full stop is joined to the fix as two sentences."""
    broken = connection(ConnectionStatus.ERROR, error_reason="the token expired")
    badge = decide(events_enabled=True, rsvp=A, connection=broken, entry=None)
    assert badge is not None and badge.detail == "the token expired." and badge.fix == RECONNECT_FIX


@pytest.mark.parametrize("facts", [entry(), None], ids=["in-calendar", "not-written"])
def test_the_fix_is_said_once(facts: EntryFacts | None) -> None:
    """The engine stores an error reason with the reconnect fix appended; the badge says the fix once, as its link."""
    broken = connection(ConnectionStatus.ERROR, error_reason=f"Google says the permission was revoked. {RECONNECT_FIX}")
    badge = decide(events_enabled=True, rsvp=A, connection=broken, entry=facts)
    assert badge is not None
    said = f"{badge.text} {badge.detail} {badge.fix}"
    assert said.count(RECONNECT_FIX) == 1 and badge.fix == RECONNECT_FIX
    assert badge.detail == "Google says the permission was revoked."


def test_an_entry_in_the_calendar_is_not_blamed_on_a_broken_connection() -> None:
    """While the connection is in error, an event already in the calendar says so (not "Not in your calendar")."""
    badge = decide(events_enabled=True, rsvp=A, connection=BROKEN, entry=entry())
    assert badge is not None and badge.kind is BadgeKind.OUTDATED
    assert "Not in your calendar" not in badge.text and badge.text.startswith("In your Google Calendar")
