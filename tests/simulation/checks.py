"""The invariants, checked at every checkpoint once sync has gone quiet (issue 7, "Simulation under faults").

1. Every desired (connection, event) has exactly one entry, in the target calendar, with the rendered content
   (title, location, start instant, the person's answer); none where the person's deletion must be respected.
2. No entry exists that should not: none for a declined, withdrawn or cancelled event, none left behind in a
   calendar the person moved away from, no duplicates. (Entries of a connection that is no longer connected are
   the person's to keep: a disconnect removes them only on request.)
3. No RSVP change on either side is lost (:meth:`Expectations.acceptable_rsvps`).
4. No connection is stuck without a visible reason: a connected one has nothing dirty, no full sync pending, no
   error recorded and no lease held; one in error says why.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from calsync.core.connection import ConnectionStatus, Provider
from calsync.core.entry import ATTENDING
from calsync.core.model import EventStatus, RsvpStatus
from calsync.store.entries import EntryRepository
from calsync.store.events import EventRepository
from calsync.store.rsvps import RsvpRepository
from tests.simulation.model import Expectations, Presence
from tests.simulation.world import CalendarEntry, SimWorld


@dataclass
class Verdict:
    violations: list[str] = field(default_factory=list)
    baseline: dict[tuple[int, int], RsvpStatus | None] = field(default_factory=dict)
    tombstones: set[tuple[int, int]] = field(default_factory=set)


def check(world: SimWorld, exp: Expectations, label: str) -> Verdict:
    verdict = Verdict()
    bad = verdict.violations
    with world.db.session(write=False) as s:
        repo = EventRepository(s)
        events = {eid: event for eid in world.event_ids if (event := repo.get(world.org_id, eid)) is not None}
        rsvps = {
            (p.principal.person_id, eid): RsvpRepository(s).get(eid, p.principal.person_id)
            for p in world.people
            for eid in events
        }
    secondary = _google_secondary(world)
    for (pid, eid), rsvp in rsvps.items():
        actual = rsvp.status if rsvp else None
        verdict.baseline[(pid, eid)] = actual
        allowed = exp.acceptable_rsvps(pid, eid)
        if actual not in allowed:
            who = next(p.email for p in world.people if p.principal.person_id == pid)
            bad.append(
                f"[{label}] RSVP lost: {who} event {eid} is {actual and actual.value}, expected one of "
                f"{sorted(str(a and a.value) for a in allowed)}"
            )
    connections = {c.id: c for c in world.all_connections()}
    checked: set[int] = set()
    for person in world.people:
        record = world.connection(person)
        if not person.connected:
            if record is not None:
                bad.append(f"[{label}] {person.email} disconnected but connection {record.id} is {record.status.value}")
            continue
        if record is None or record.status is not ConnectionStatus.CONNECTED or record.provider is not person.provider:
            state = "none" if record is None else f"{record.provider.value} {record.status.value}"
            bad.append(f"[{label}] {person.email} should be connected to {person.provider.value}, is {state}")
            if record is not None and record.status is ConnectionStatus.ERROR and not record.error_reason:
                bad.append(f"[{label}] connection {record.id} is in error without a reason")
            continue
        checked.add(record.id)
        with world.db.session(write=False) as s:
            dirty = EntryRepository(s).for_connection(record.id, dirty_only=True)
        stuck = []
        if dirty:
            stuck.append(f"{len(dirty)} entries still dirty")
        if record.need_full_sync:
            stuck.append(f"full sync still pending ({record.need_full_sync_reason})")
        if record.error_detail:
            stuck.append(f"error recorded: {record.error_detail[:120]}")
        if record.lease_owner is not None:
            stuck.append(f"lease still held by {record.lease_owner}")
        if record.due_at is None:
            stuck.append("nothing scheduled (no due time)")
        if stuck:
            bad.append(f"[{label}] connection {record.id} ({person.email}) stuck: {'; '.join(stuck)}")
        entries = [e for e in world.calendar_entries(person.email, person.provider) if e.connection_id == record.id]
        by_event: dict[int, list[CalendarEntry]] = defaultdict(list)
        for entry in entries:
            by_event[entry.event_id].append(entry)
        for eid, event in events.items():
            rsvp = rsvps.get((person.principal.person_id, eid))
            wanted = event.status is EventStatus.SCHEDULED and rsvp is not None and rsvp.status in ATTENDING
            found = by_event.pop(eid, [])
            where = f"{person.email} ({person.provider.value}, connection {record.id}) event {eid}"
            misplaced = [e for e in found if e.calendar_id != record.target_calendar_id]
            if misplaced:
                bad.append(f"[{label}] {where}: {len(misplaced)} entries outside the target calendar")
            found = [e for e in found if e.calendar_id == record.target_calendar_id]
            if not wanted:
                if found:
                    status = rsvp.status.value if rsvp else "no RSVP"
                    bad.append(f"[{label}] {where}: entry exists but should not ({event.status.value}, {status})")
                continue
            assert rsvp is not None
            presence = exp.presence(record.id, eid)
            if len(found) > 1:
                bad.append(f"[{label}] {where}: {len(found)} entries (duplicates)")
            if not found:
                if presence is Presence.PRESENT:
                    bad.append(f"[{label}] {where}: desired entry missing")
                else:
                    verdict.tombstones.add((record.id, eid))
                continue
            if presence is Presence.ABSENT:
                bad.append(f"[{label}] {where}: entry the person deleted came back")
            entry = found[0]
            diffs = []
            if entry.title != event.title:
                diffs.append(f"title {entry.title!r} != {event.title!r}")
            if entry.location != event.location:
                diffs.append(f"location {entry.location!r} != {event.location!r}")
            if entry.start_utc != event.start_utc:
                diffs.append(f"start {entry.start_utc} != {event.start_utc}")
            # PROVIDER_LIMITS["google-secondary-calendar-answer"]: such an entry keeps the answer it was made with.
            if entry.response is not rsvp.status and person.principal.person_id not in secondary:
                diffs.append(f"answer {entry.response and entry.response.value} != {rsvp.status.value}")
            if diffs:
                bad.append(f"[{label}] {where}: content differs: {'; '.join(diffs)}")
        for eid, found in by_event.items():
            bad.append(f"[{label}] {person.email}: {len(found)} entries for unknown event {eid}")
    _carry_unchecked(world, exp, verdict, checked)
    for cid, record in connections.items():
        if record.status is ConnectionStatus.ERROR and not record.error_reason:
            bad.append(f"[{label}] connection {cid} is in error without a reason")
    return verdict


def _carry_unchecked(world: SimWorld, exp: Expectations, verdict: Verdict, checked: set[int]) -> None:
    """Deletions on a connection that is not connected at this checkpoint (the person disconnected, keeping their
    entries) still stand if they reconnect: carry them as tombstones. Where the window leaves it open (both a
    deletion and a lift seen at once), calsync's own reading decides, as it would have been judged."""
    pairs = {key for key in exp.tombstones if key[0] not in checked}
    pairs |= {key for key in exp.entry_acts if key[0] not in checked}
    for cid, eid in pairs:
        presence = exp.presence(cid, eid)
        if presence is Presence.ABSENT:
            verdict.tombstones.add((cid, eid))
        elif presence is Presence.EITHER:
            with world.db.session(write=False) as s:
                record = EntryRepository(s).get(cid, eid)
            if record is not None and record.synced.tombstone:
                verdict.tombstones.add((cid, eid))


def _google_secondary(world: SimWorld) -> set[int]:
    """People whose Google connection writes to a secondary calendar (see PROVIDER_LIMITS)."""
    out = set()
    for person in world.people:
        record = world.connection(person)
        if record is not None and record.provider is Provider.GOOGLE and record.target_calendar_id != person.email:
            out.add(person.principal.person_id)
    return out
