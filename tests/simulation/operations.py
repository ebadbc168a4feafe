"""The operations a seed draws from: what people, the organizer, workers, time and the providers do.

Each operation acts through the real services or the sandbox's Python API (as the person), logs what it did on the
trace, and logs on :class:`~tests.simulation.model.Expectations` what the checker must then expect. An operation
that finds nothing to act on does nothing; one the platform refuses is traced and changes nothing expected.
"""

from __future__ import annotations

import datetime as dt
import random

from calsync.core.connection import ConnectionStatus, Provider
from calsync.core.model import ANSWERS, RsvpSource
from calsync.errors import CalsyncError
from calsync.services import connections, events, rsvps
from calsync.store.entries import EntryRepository
from calsync.store.rsvps import RsvpRepository
from tests.simulation.harness import Notification
from tests.simulation.model import Act, Expectations, Kind
from tests.simulation.world import LEASE_SECONDS, CalendarEntry, Person, RoundLog, SimWorld, refuse

TITLES = ("Launch party", "Board games", "Hackathon", "Choir", "Book club", "Run", "Workshop", "Cinema", "Picnic")


class Operations:
    """The seed's state the operations share (set up by :class:`~tests.simulation.scenario.Scenario`)."""

    world: SimWorld
    rng: random.Random
    exp: Expectations
    step: int
    anchor: dt.datetime
    held: list[Notification]
    notes: dict[str, float]
    cancelled: set[int]
    seen_entries: set[str]
    rounds_log: RoundLog

    def trace(self, line: str) -> None:
        raise NotImplementedError

    # ---- operations -------------------------------------------------------------------------------------------
    def _person(self, connected: bool | None = None) -> Person:
        candidates = [p for p in self.world.people if connected is None or p.connected == connected]
        return self.rng.choice(candidates or self.world.people)

    def _events_live(self) -> list[int]:
        return [eid for eid in self.world.event_ids if eid not in self.cancelled]

    def _connection_ids(self, person: Person) -> list[int]:
        return [c.id for c in self.world.all_connections() if c.person_id == person.principal.person_id]

    def _disturb_person(self, person: Person) -> None:
        for eid in self.world.event_ids:
            self.exp.rsvp(person.principal.person_id, eid, Act(self.step, Kind.DISTURB))

    def op_rounds(self) -> None:
        n = self.world.rounds(self.rng.randint(1, 8), self.rounds_log)
        self.trace(f"rounds: {n} claimed")

    def op_advance(self) -> None:
        seconds = round(self.rng.uniform(1, 90), 1)
        self.world.advance(seconds)
        self.trace(f"advance {seconds}s")

    def op_platform_rsvp(self, person: Person | None = None, eid: int | None = None) -> None:
        w, rng = self.world, self.rng
        live = self._events_live()
        if not live:
            return
        person = person or self._person()
        eid = eid if eid is not None else rng.choice(live)
        status = rng.choice(sorted(ANSWERS, key=lambda s: s.value))
        with w.db.session(write=False) as s:
            current = RsvpRepository(s).get(eid, person.principal.person_id)
        if current is not None and current.status is status and current.source is RsvpSource.PLATFORM:
            return  # the same answer again changes nothing
        try:
            rsvps.answer(w.ctx, person.principal, eid, status)
        except CalsyncError as exc:
            self.trace(f"rsvp {person.email} {eid} {status.value} refused: {refuse(exc)}")
            return
        act = Act(self.step, Kind.PLATFORM, status)
        self.exp.rsvp(person.principal.person_id, eid, act)
        for cid in self._connection_ids(person):
            self.exp.entry(cid, eid, act)
        self.trace(f"rsvp {person.email} event {eid} -> {status.value} (platform)")

    def _my_entries(self, person: Person) -> list[tuple[int, CalendarEntry]]:
        record = self.world.connection(person)
        if record is None or not person.connected:
            return []
        entries = self.world.calendar_entries(person.email, person.provider)
        mine = [e for e in entries if e.connection_id == record.id and e.calendar_id == record.target_calendar_id]
        # sorted: the provider lists in creation order, and a round creates entries on 4 threads at once
        return [(record.id, e) for e in sorted(mine, key=lambda e: (e.event_id, e.provider_id))]

    def op_calendar_answer(self) -> None:
        person = self._person(connected=True)
        mine = self._my_entries(person)
        if not mine:
            return
        _, entry = self.rng.choice(mine)
        status = self.rng.choice(sorted(ANSWERS, key=lambda s: s.value))
        if not self.world.answer_in_calendar(person.email, entry, status):
            self.trace(f"calendar answer {person.email} event {entry.event_id}: this calendar offers no answer")
            return
        if entry.event_id in self.cancelled:
            # An entry a cancellation left behind (its connection was not connected then): the RSVPs of a cancelled
            # event can no longer change (services.rsvps), so this answer is nobody's word (long seed 40027).
            self.trace(f"calendar answer {person.email} event {entry.event_id} (cancelled) -> {status.value}")
            return
        fresh = entry.provider_id not in self.seen_entries
        self.exp.rsvp(person.principal.person_id, entry.event_id, Act(self.step, Kind.CALENDAR, status, fresh))
        self.trace(f"calendar answer {person.email} event {entry.event_id} -> {status.value}")

    def op_calendar_delete(self) -> None:
        person = self._person(connected=True)
        mine = self._my_entries(person)
        if not mine:
            return
        cid, entry = self.rng.choice(mine)
        eid = entry.event_id
        with self.world.db.session(write=False) as s:
            current = RsvpRepository(s).get(eid, person.principal.person_id)
            stored = EntryRepository(s).get(cid, eid)
        self.world.delete_in_calendar(person.email, entry)
        fresh = entry.provider_id not in self.seen_entries
        # PROVIDER_LIMITS["graph-deleted-unconfirmed-create"]: calsync never recorded this entry's create.
        unconfirmed = entry.provider is Provider.MICROSOFT and (
            stored is None or stored.synced.provider_id != entry.provider_id
        )
        status = current.status if current else None
        self.exp.entry(cid, eid, Act(self.step, Kind.DELETE, status, fresh, unconfirmed))
        self.exp.rsvp(person.principal.person_id, eid, Act(self.step, Kind.DELETE))
        self.trace(f"calendar delete {person.email} event {eid}")

    def op_create_event(self) -> None:
        w, rng = self.world, self.rng
        start = self.anchor + dt.timedelta(days=rng.randint(0, 30), hours=rng.randint(-4, 3))
        title = f"{rng.choice(TITLES)} {len(w.event_ids) + 1}"
        draft = events.EventDraft(
            title=title, timezone="Europe/Berlin", start=start, end=start + dt.timedelta(hours=2), location="Hall A"
        )
        eid = events.create_event(w.ctx, w.organizer, draft).id
        w.event_ids.append(eid)
        self.trace(f"create event {eid} {title!r}")

    def op_edit_event(self) -> None:
        live = self._events_live()
        if not live:
            return
        eid, rng = self.rng.choice(live), self.rng
        kind = rng.choice(("title", "location", "time"))
        if kind == "title":
            fields: dict[str, object] = {"title": f"{rng.choice(TITLES)} (edit {self.step})"}
        elif kind == "location":
            fields = {"location": rng.choice(("Hall A", "Hall B", "Garden", "Room 3"))}
        else:
            start = self.anchor + dt.timedelta(days=rng.randint(0, 30), hours=rng.randint(-4, 3))
            fields = {"start": start, "end": start + dt.timedelta(hours=rng.choice((1, 2, 3)))}
        patch = events.EventPatch(frozenset(fields), **fields)  # type: ignore[arg-type]
        events.update_event(self.world.ctx, self.world.organizer, eid, patch)
        self.trace(f"edit event {eid} {kind}")

    def op_cancel_event(self) -> None:
        live = self._events_live()
        if len(live) < 2:
            return
        eid = self.rng.choice(live)
        events.cancel_event(self.world.ctx, self.world.organizer, eid)
        self.exp.cancelled.add(eid)
        self.cancelled.add(eid)
        self.trace(f"cancel event {eid}")

    def op_set_target(self) -> None:
        w = self.world
        person = self._person(connected=True)
        record = w.connection(person)
        if record is None or record.status is not ConnectionStatus.CONNECTED:
            return
        try:
            calendars = connections.list_calendars(w.runtime.calendar, person.principal)
            choice = self.rng.choice([*calendars, None])
            if choice is None:
                connections.set_target(w.runtime.calendar, person.principal, create_dedicated=True)
            else:
                connections.set_target(w.runtime.calendar, person.principal, calendar_id=choice.id)
        except CalsyncError as exc:
            self.trace(f"set target {person.email} failed: {refuse(exc)}")
            return
        after = w.connection(person)
        if after is not None and after.target_calendar_id != record.target_calendar_id:
            self._disturb_person(person)
            for eid in w.event_ids:
                self.exp.entry(record.id, eid, Act(self.step, Kind.MOVE))
        self.trace(f"set target {person.email} -> {after and after.target_calendar_name!r}")

    def op_disconnect(self) -> None:
        person = self._person(connected=True)
        if not person.connected:
            return
        remove = self.rng.random() < 0.5
        try:
            report = connections.disconnect(self.world.runtime.calendar, person.principal, remove_entries=remove)
        except CalsyncError as exc:
            self.trace(f"disconnect {person.email} failed: {refuse(exc)}")
            return
        person.connected, person.needs_reconnect = False, False
        self._disturb_person(person)
        if remove:
            for cid in self._connection_ids(person):
                for eid in self.world.event_ids:
                    self.exp.entry(cid, eid, Act(self.step, Kind.REMOVED))
        self.trace(f"disconnect {person.email} remove_entries={remove}: {report.entries_removed} removed")

    def op_reconnect(self) -> None:
        candidates = [p for p in self.world.people if not p.connected or p.needs_reconnect]
        if not candidates:
            return
        person = self.rng.choice(candidates)
        provider = person.provider
        if not person.needs_reconnect and self.rng.random() < 0.3:
            provider = Provider.MICROSOFT if provider is Provider.GOOGLE else Provider.GOOGLE
        self._connect(person, provider, why="connects")

    def _connect(self, person: Person, provider: Provider, *, why: str) -> None:
        if person.connected and provider is not person.provider:
            self._disturb_person(person)
        try:
            self.world.connect(person, provider)
        except CalsyncError as exc:
            self.trace(f"{person.email} {why} ({provider.value}) failed: {refuse(exc)}")
            return
        for cid in self._connection_ids(person):
            for eid in self.world.event_ids:
                self.exp.entry(cid, eid, Act(self.step, Kind.RECONNECT))
        self.trace(f"{person.email} {why} ({provider.value})")

    def op_revoke(self) -> None:
        person = self._person(connected=True)
        if not person.connected:
            return
        self.world.revoke_grant(person)
        person.needs_reconnect = True
        self.trace(f"revoke grant of {person.email} ({person.provider.value})")

    def op_resync(self) -> None:
        person = self._person(connected=True)
        if not person.connected:
            return
        try:
            connections.request_resync(self.world.runtime.calendar, person.principal)
        except CalsyncError as exc:
            self.trace(f"resync {person.email} refused: {refuse(exc)}")
            return
        for cid in self._connection_ids(person):
            for eid in self.world.event_ids:
                self.exp.entry(cid, eid, Act(self.step, Kind.RESYNC))
        self.trace(f"resync {person.email}")

    def op_expire_cursors(self) -> None:
        self.world.expire_cursors()
        self.trace("every sync token and delta link expires")

    def op_abandon_claim(self) -> None:
        cid = self.world.abandon_claim()
        self.trace(f"a worker claims connection {cid} and dies (lease lapses in {LEASE_SECONDS:.0f}s)")

    def op_notifications(self) -> None:
        w, rng = self.world, self.rng
        pending = w.pending_notifications()
        keyed = sorted(((w.notification_connection(n), i, n) for i, n in enumerate(pending)), key=lambda t: t[:2])
        late, self.held = self.held, []
        delivered = dropped = 0
        for _, _, note in keyed:
            roll = rng.random()
            if roll < self.notes["drop"]:
                dropped += 1
                continue
            if roll < self.notes["drop"] + self.notes["hold"]:
                self.held.append(note)
                continue
            for _ in range(2 if rng.random() < self.notes["dup"] else 1):
                w.deliver(note)
                delivered += 1
        for note in late:  # held back earlier: they arrive now, after newer ones (reordered)
            w.deliver(note)
            delivered += 1
        if pending or late:
            self.trace(f"notifications: {delivered} delivered, {dropped} dropped, {len(self.held)} held back")
