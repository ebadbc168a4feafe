"""Sync status in plain words: the per-event badge a person sees (the organization overview admins see is in
:mod:`calsync.services.admin`).

The badge answers the seeds' "Event not showing in my calendar" for one event before anyone has to ask: it is
in your calendar, it is on its way, or it is not, with the reason and the fix. :func:`decide` is a pure decision
over the organization's Events module, the person's RSVP, their connection and the entry calsync keeps for
(connection, event); it is tested table-driven. The loaders around it read those facts in one unit of work.

Decision table (first match wins):

==========================================  ============================================================
facts                                       badge
==========================================  ============================================================
Events module off                           the seeds' feature-availability message, no sync controls
RSVP declined / needs action / none         no badge (nothing belongs in the calendar)
no connection (or disconnected)             connect your calendar (Profile → Calendar)
connection in error, entry in the calendar  in your calendar, not kept up to date: <its reason> + the fix
connection in error, otherwise              not in your calendar: <its reason> + the fix
entry tombstone                             not in your calendar: you removed it; Resync brings it back
entry last_error, never written             not in your calendar: <that error>
entry last_error, written before            in your calendar but not up to date: <that error>
entry with provider id, clean               in your Google Calendar / Outlook calendar
anything else (no entry, dirty, pending)    syncing…
==========================================  ============================================================

Each badge says the fix once: ``fix`` is the link to Profile → Calendar, and ``detail`` never repeats it (the
engine stores a connection's error reason with the reconnect fix appended; :func:`reason_without_fix` drops it).
An event already in the calendar is never called "not in your calendar" because the connection broke: it is there,
just no longer updated (issue 16, "a badge never blames the wrong thing").

A tombstone is the engine's record that the person deleted the entry in their calendar: it is not re-created
while their RSVP stands (seeds: "Juno won't re-create it if you're still RSVP'd"); Resync clears it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum

from calsync.core.connection import RECONNECT_FIX, Connection, ConnectionStatus, Provider, reason_without_fix
from calsync.core.model import Principal, RsvpStatus
from calsync.services.access import organization_of
from calsync.services.connections import CalendarContext
from calsync.services.uow import unit_of_work
from calsync.store.connections import ConnectionRepository
from calsync.store.entries import EntryRecord, EntryRepository

FEATURE_UNAVAILABLE = (
    "This feature requires the Events module. If you don't see it, contact your administrator."
)
CONNECT_FIX = "Connect Google Calendar or Outlook in Profile → Calendar."
REMOVED_BY_YOU = "You removed it from your calendar."
RESYNC_FIX = "Use Resync in Profile → Calendar to bring it back."


class BadgeKind(str, Enum):
    NOT_CONNECTED = "not_connected"
    IN_CALENDAR = "in_calendar"
    SYNCING = "syncing"
    OUTDATED = "outdated"
    NOT_IN_CALENDAR = "not_in_calendar"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Badge:
    kind: BadgeKind
    text: str
    """The badge itself, short."""
    detail: str | None = None
    """The reason, or where to look (shown beside the badge)."""
    fix: str | None = None
    """What to do about it, said once, as a link to Profile → Calendar."""
    synced_at: dt.datetime | None = None
    """When calsync last wrote or confirmed this event's entry (shown as "last synced at …, via …")."""
    synced_via: str | None = None
    """``push`` (a change made here was sent), ``poll`` (a change was read from the calendar) or ``resync``."""


@dataclass(frozen=True)
class EntryFacts:
    """What the badge needs from an entry row (the last-synced leg of one (connection, event))."""

    provider_id: str | None
    dirty: bool
    create_pending: bool
    tombstone: bool
    last_error: str | None
    synced_at: dt.datetime | None = None
    synced_via: str | None = None

    @classmethod
    def of(cls, record: EntryRecord) -> EntryFacts:
        return cls(
            provider_id=record.synced.provider_id,
            dirty=record.dirty,
            create_pending=record.synced.create_pending,
            tombstone=record.synced.tombstone,
            last_error=record.last_error,
            synced_at=record.synced_at,
            synced_via=record.synced_via,
        )


def calendar_label(provider: Provider) -> str:
    return "your Google Calendar" if provider is Provider.GOOGLE else "your Outlook calendar"


def decide(
    *,
    events_enabled: bool,
    rsvp: RsvpStatus | None,
    connection: Connection | None,
    entry: EntryFacts | None,
) -> Badge | None:
    """The badge for one event (see the module's table), with when and how its entry was last synced when the
    entry is in the calendar."""
    badge = _decide(events_enabled=events_enabled, rsvp=rsvp, connection=connection, entry=entry)
    if badge is None or entry is None or entry.synced_at is None:
        return badge
    if badge.kind not in (BadgeKind.IN_CALENDAR, BadgeKind.OUTDATED, BadgeKind.SYNCING):
        return badge
    return replace(badge, synced_at=entry.synced_at, synced_via=entry.synced_via)


def _decide(
    *,
    events_enabled: bool,
    rsvp: RsvpStatus | None,
    connection: Connection | None,
    entry: EntryFacts | None,
) -> Badge | None:
    """The badge for one event, or None when there is nothing to say (see the module's table)."""
    if not events_enabled:
        return Badge(BadgeKind.UNAVAILABLE, "Calendar sync unavailable", FEATURE_UNAVAILABLE)
    if rsvp not in (RsvpStatus.ACCEPTED, RsvpStatus.TENTATIVE):
        return None
    if connection is None or connection.status is ConnectionStatus.DISCONNECTED:
        detail = "No calendar is connected, so this event is not in one."
        return Badge(BadgeKind.NOT_CONNECTED, "Connect your calendar", detail, CONNECT_FIX)
    where = calendar_label(connection.provider)
    if connection.status is ConnectionStatus.ERROR:
        reason = reason_without_fix(connection.error_reason)
        if entry is not None and entry.provider_id and not entry.tombstone:
            return Badge(BadgeKind.OUTDATED, f"In {where}, not kept up to date", reason, RECONNECT_FIX)
        return Badge(BadgeKind.NOT_IN_CALENDAR, "Not in your calendar", reason, RECONNECT_FIX)
    if entry is not None and entry.tombstone:
        return Badge(BadgeKind.NOT_IN_CALENDAR, "Not in your calendar", REMOVED_BY_YOU, RESYNC_FIX)
    if entry is not None and entry.last_error:
        if entry.provider_id is None:
            return Badge(BadgeKind.NOT_IN_CALENDAR, "Not in your calendar", entry.last_error)
        return Badge(BadgeKind.OUTDATED, f"In {where}, not up to date", entry.last_error)
    if entry is not None and entry.provider_id and not entry.dirty and not entry.create_pending:
        target = connection.target_calendar_name
        return Badge(BadgeKind.IN_CALENDAR, f"In {where}", f"In the calendar “{target}”." if target else None)
    return Badge(BadgeKind.SYNCING, "Syncing…", f"On its way to {where}; this usually takes seconds.")


# ---- loaders ---------------------------------------------------------------------------------------------------


def badges_for(
    cc: CalendarContext, actor: Principal, answers: Iterable[tuple[int, RsvpStatus | None]]
) -> dict[int, Badge | None]:
    """Badges for the caller's events, given (event id, the caller's RSVP status) pairs, in one read."""
    wanted = dict(answers)
    with unit_of_work(cc.service.db, write=False) as uow:
        organization = organization_of(uow, actor)
        record = ConnectionRepository(uow.session).latest_for_person(actor.person_id)
        entries: dict[int, EntryFacts] = {}
        if record is not None and wanted:
            entries = {
                e.event_id: EntryFacts.of(e)
                for e in EntryRepository(uow.session).for_connection(record.id)
                if e.event_id in wanted
            }
    connection = None if record is None else record.view()
    return {
        event_id: decide(
            events_enabled=organization.events_enabled,
            rsvp=status,
            connection=connection,
            entry=entries.get(event_id),
        )
        for event_id, status in wanted.items()
    }


def entries_in_calendar(cc: CalendarContext, actor: Principal) -> int:
    """How many entries calsync has written to the caller's calendar (what "remove entries" would delete)."""
    with unit_of_work(cc.service.db, write=False) as uow:
        record = ConnectionRepository(uow.session).latest_for_person(actor.person_id)
        if record is None:
            return 0
        return sum(1 for e in EntryRepository(uow.session).for_connection(record.id) if e.synced.provider_id)
