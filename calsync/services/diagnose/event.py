"""One event: the RSVP and the verdict on whether the entry is (or should be) in the person's calendar."""

from __future__ import annotations

import dataclasses
import datetime as dt

from calsync.core.connection import RECONNECT_FIX, ConnectionStatus
from calsync.core.entry import ATTENDING
from calsync.core.model import EventStatus, Rsvp, RsvpStatus
from calsync.services.diagnose.model import (
    CONNECT_FIX,
    RESYNC_STEP,
    Check,
    FactValue,
    Verdict,
    iso,
    when,
)
from calsync.store.connections import ConnectionRecord
from calsync.store.entries import EntryRecord

# ---- pure decisions: one event -----------------------------------------------------------------------------


def check_rsvp(rsvp: Rsvp | None, now: dt.datetime) -> Check:
    if rsvp is None:
        return Check(
            "rsvp",
            "RSVP",
            Verdict.OK,
            "No RSVP: the person was not invited and has not answered.",
            facts={"status": None},
        )
    facts: dict[str, FactValue] = {
        "status": rsvp.status.value,
        "source": rsvp.source.value,
        "updated_at": iso(rsvp.updated_at),
        "version": rsvp.version,
    }
    source = "in calsync" if rsvp.source.value == "platform" else f"in their {rsvp.source.value} calendar"
    return Check(
        "rsvp",
        "RSVP",
        Verdict.OK,
        f"{rsvp.status.value.replace('_', ' ')}, set {source} {when(rsvp.updated_at, now)}.",
        facts=facts,
    )


@dataclasses.dataclass(frozen=True)
class Presence:
    """What the provider says now about the entry's key. ``asked`` False: it could not be asked (``why``)."""

    asked: bool
    found: bool = False
    calendar_id: str | None = None
    calendar_name: str | None = None
    primary: bool | None = None
    why: str | None = None


@dataclasses.dataclass(frozen=True)
class EventFacts:
    events_enabled: bool
    event_status: EventStatus
    ended: bool
    rsvp: RsvpStatus | None
    connection: ConnectionRecord | None
    entry: EntryRecord | None
    presence: Presence


def check_event(f: EventFacts, now: dt.datetime) -> Check:
    """The verdict for one event, first match wins; each branch is one of the seeds' cases."""
    facts: dict[str, FactValue] = {
        "expected": f.event_status is EventStatus.SCHEDULED and f.rsvp in ATTENDING,
        "present": f.presence.found if f.presence.asked else None,
        "found_in": f.presence.calendar_name,
    }
    e = f.entry
    if e is not None:
        s = e.synced
        facts.update(
            provider_id=s.provider_id,
            calendar_id=s.calendar_id,
            tombstone=s.tombstone,
            create_pending=s.create_pending,
            dirty=e.dirty,
            last_error=e.last_error,
            last_attempt_at=iso(e.last_attempt_at),
        )

    def out(verdict: Verdict, finding: str, step: str | None = None) -> Check:
        return Check("event", "The event in the calendar", verdict, finding, step, facts)

    present = f.presence.asked and f.presence.found
    leftover = " An entry is still there; calsync removes it on the next round." if present else ""
    if not f.events_enabled:
        return out(
            Verdict.PROBLEM,
            "Nothing syncs: the organization's Events module is off.",
            "An administrator must switch the Events module on.",
        )
    if f.event_status is not EventStatus.SCHEDULED:
        return out(Verdict.OK, f"Not expected in the calendar: the event was cancelled.{leftover}")
    if f.rsvp is None or f.rsvp is RsvpStatus.NEEDS_ACTION:
        return out(
            Verdict.OK,
            "Not expected in the calendar: the person has not RSVP'd. calsync adds events the person accepted or "
            f"answered tentative.{leftover}",
            "If they mean to go, they RSVP accept (or tentative) in calsync; the entry appears within seconds.",
        )
    if f.rsvp is RsvpStatus.DECLINED:
        return out(
            Verdict.OK,
            f"Not expected in the calendar: the person declined.{leftover}",
            "If they changed their mind, they accept in calsync; the entry comes back.",
        )
    c = f.connection
    if c is None or c.status is ConnectionStatus.DISCONNECTED:
        return out(Verdict.PROBLEM, "It cannot be in the calendar: no calendar is connected.", CONNECT_FIX)
    if c.status is ConnectionStatus.ERROR:
        return out(Verdict.PROBLEM, f"It cannot sync: the connection is in error ({c.error_reason}).", RECONNECT_FIX)
    if e is not None and e.synced.tombstone:
        return out(
            Verdict.WARNING,
            "The person deleted it in their calendar; calsync keeps it deleted while the RSVP stands (it never "
            "re-creates an entry someone removed).",
            f"The person deleted it; Resync brings it back. {RESYNC_STEP}",
        )
    if e is not None and e.last_error:
        return out(
            Verdict.PROBLEM,
            f"The last attempt {when(e.last_attempt_at, now)} failed: {e.last_error}",
            "calsync does not retry a refused write in a loop; it tries again on the next change to the event or "
            f"RSVP. If the cause is fixed, {RESYNC_STEP}",
        )
    if present:
        name = f.presence.calendar_name or f.presence.calendar_id or "the target calendar"
        if f.presence.primary is False:
            return out(
                Verdict.WARNING,
                f"It is in the calendar “{name}”, not in the account's main calendar.",
                f"Check the right calendar: tell the person to look in “{name}” (or show all calendars in their "
                "calendar app), or pick another calendar in Profile → Calendar.",
            )
        pending = " An update is on its way." if e is not None and e.dirty else ""
        return out(Verdict.OK, f"In the calendar “{name}” right now.{pending}")
    if e is None and f.ended:
        return out(Verdict.OK, "Not expected in the calendar: the event is over, and calsync adds upcoming events.")
    if e is None or e.synced.provider_id is None or e.synced.create_pending or e.dirty:
        since = f" (changed {when(e.updated_at, now)})" if e is not None else ""
        if not f.presence.asked and f.presence.why:
            since += f"; the provider could not be asked ({f.presence.why})"
        return out(
            Verdict.WARNING,
            f"Syncing: calsync has not written it yet{since}.",
            "Wait a moment (usually seconds); if it stays, check the workers and the pull above.",
        )
    if not f.presence.asked:
        return out(
            Verdict.WARNING,
            f"calsync wrote it ({e.synced.provider_id}), but the provider could not be asked now: {f.presence.why}.",
            "Run diagnose again in a few minutes.",
        )
    return out(
        Verdict.PROBLEM,
        f"calsync wrote it ({e.synced.provider_id}) but it is not in the calendar now: the person probably deleted "
        "it moments ago (the next pull records that).",
        f"If they want it back: {RESYNC_STEP}",
    )
