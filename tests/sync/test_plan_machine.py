"""A Hypothesis state machine drives the pure sync core against an in-memory calendar.

It interleaves RSVP changes in the platform and in the calendar, event edits and cancellations, deletions in the
calendar, crashes between a provider's create and calsync's record of it, stray duplicates and Resyncs; after
every sync round it checks the invariants of issue 5 / 7: at most one entry per event, the entry exists exactly
when wanted (tombstones respected), its content is the rendered content, no answer is lost, and a second round
with no new change plans no write (convergence).
"""

from __future__ import annotations

import dataclasses
import itertools

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from calsync.core.entry import EntryContent
from calsync.core.model import EventStatus, RsvpStatus
from calsync.core.plan import (
    Action,
    AdoptCalendarAnswer,
    ClearTombstone,
    Create,
    Delete,
    ForgetEntry,
    ListedEntry,
    Lookup,
    MarkInSync,
    Platform,
    RecordRemote,
    Remote,
    RemoteState,
    SetTombstone,
    Synced,
    Update,
    plan,
    plan_reconcile,
)
from tests.sync.factories import CONN, INSTALL, event, key, renderer

CAL = "primary"
ANSWERS = [RsvpStatus.ACCEPTED, RsvpStatus.TENTATIVE, RsvpStatus.DECLINED]


class Crash(Exception):
    """The worker died between the provider's answer and the store's commit."""


@dataclasses.dataclass
class Item:
    """An entry as the calendar holds it: what was written, with the person's own answer applied on top."""

    content: EntryContent | None
    key: str
    response: RsvpStatus
    etag: str

    @property
    def fingerprint(self) -> str:
        if self.content is None:
            return "stray"
        return dataclasses.replace(self.content, response=self.response).fingerprint()


class SyncMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.ev = event()
        self.rsvp: RsvpStatus | None = RsvpStatus.NEEDS_ACTION
        self.version = 1
        self.calendar: dict[str, Item] = {}
        self.synced: Synced | None = None
        self.ids = itertools.count(1)
        self.etags = itertools.count(1)
        self.need_full = False
        self.last_calendar_answer: RsvpStatus | None = None
        self.platform_moved_since_answer = False

    # ---- the world changes ----------------------------------------------------------------------------------
    @rule(status=st.sampled_from(ANSWERS))
    def answer_in_platform(self, status: RsvpStatus) -> None:
        self.rsvp, self.version = status, self.version + 1
        self.platform_moved_since_answer = True

    @rule(status=st.sampled_from(ANSWERS))
    def answer_in_calendar(self, status: RsvpStatus) -> None:
        synced_current = self.synced is not None and self.synced.rsvp_version == self.version
        for item in self.calendar.values():
            item.response, item.etag = status, f'"{next(self.etags)}"'
            self.last_calendar_answer = status
            # An answer only counts when calsync had synced the platform's current RSVP: otherwise both sides
            # changed since the last sync and the platform wins by the documented rule.
            self.platform_moved_since_answer = not synced_current

    @rule()
    def delete_in_calendar(self) -> None:
        self.calendar.clear()
        self.last_calendar_answer = None  # an answer on a deleted entry is never observable by any sync

    @rule(title=st.sampled_from(["Launch", "Launch (moved)", "Launch, room B"]))
    def edit_event(self, title: str) -> None:
        if self.ev.status is EventStatus.SCHEDULED:
            self.ev = dataclasses.replace(self.ev, title=title, version=self.ev.version + 1)

    @rule()
    def cancel_event(self) -> None:
        self.ev = dataclasses.replace(self.ev, status=EventStatus.CANCELLED, version=self.ev.version + 1)

    @rule()
    def stray_duplicate(self) -> None:
        """A copy with calsync's key appears (restored backup, a lost create elsewhere); a full sync must find it."""
        content = renderer(self.ev)(RsvpStatus.ACCEPTED)
        if content is not None:
            self.calendar[f"dup{next(self.ids)}"] = Item(None, key(), RsvpStatus.ACCEPTED, '"dup"')
            self.need_full = True

    # ---- a sync round ---------------------------------------------------------------------------------------
    @rule(resync=st.booleans(), crash=st.booleans())
    def sync(self, resync: bool, crash: bool) -> None:
        try:
            self._round(resync=resync, crash_after_create=crash)
        except Crash:
            return
        self._check_invariants()
        writes = self._round(resync=False, crash_after_create=False)
        assert writes == 0, "a second round with no new change must not write"

    def _observe(self, full: bool) -> Remote:
        s = self.synced or Synced()
        if full:
            listing = [ListedEntry(i.key, pid, i.etag, i.response) for pid, i in self.calendar.items()]
            stored = {1: s} if self.synced else {}
            rec = plan_reconcile(listing, stored, installation_id=INSTALL, connection_id=CONN)
            for dup in rec.duplicates:
                self.calendar.pop(dup.provider_id, None)
            if 1 in rec.adopted:
                pid = rec.adopted[1]
                # Adopting an entry the store did not map: its content is unknown (one rewrite), and the answer
                # both sides last agreed on stays what the store says, so an answer given on it is not lost.
                self.synced = dataclasses.replace(
                    s,
                    provider_id=pid,
                    calendar_id=CAL,
                    etag=self.calendar[pid].etag,
                    fingerprint=None,
                    create_pending=False,
                )
            return rec.remote_by_event.get(1, Remote())
        if s.provider_id is None:
            return Remote()
        item = self.calendar.get(s.provider_id)
        if item is None:
            return Remote(RemoteState.ABSENT, s.provider_id)
        return Remote(RemoteState.PRESENT, s.provider_id, item.etag, item.response)

    def _round(self, *, resync: bool, crash_after_create: bool) -> int:
        full = resync or self.need_full
        writes = 0
        for _ in range(3):  # Lookup re-plans; bounded
            remote = self._observe(full)
            actions = plan(
                Platform(self.rsvp, self.version),
                self.synced,
                remote,
                renderer(self.ev),
                key=key(),
                target_calendar_id=CAL,
                resync=resync,
            )
            writes += self._execute(actions, crash_after_create)
            if not any(isinstance(a, Lookup) for a in actions):
                self.need_full = False
                return writes
        raise AssertionError("planning did not terminate within 3 iterations")

    def _execute(self, actions: list[Action], crash_after_create: bool) -> int:
        s = self.synced or Synced()
        adopted_version: int | None = None
        writes = 0
        for a in actions:
            if isinstance(a, AdoptCalendarAnswer):
                if a.expected_version == self.version:
                    self.rsvp, self.version = a.status, self.version + 1
                    adopted_version = self.version
            elif isinstance(a, RecordRemote):
                s = dataclasses.replace(s, etag=a.etag, response=a.response, fingerprint=a.fingerprint or s.fingerprint)
            elif isinstance(a, ForgetEntry):
                s = dataclasses.replace(
                    s, provider_id=None, calendar_id=None, etag=None, fingerprint=None, response=None
                )
            elif isinstance(a, SetTombstone):
                s = dataclasses.replace(s, tombstone=True)
            elif isinstance(a, ClearTombstone):
                s = dataclasses.replace(s, tombstone=False)
            elif isinstance(a, Lookup):
                found = [(pid, i) for pid, i in sorted(self.calendar.items()) if i.key == a.key]
                if found:
                    pid, item = found[0]
                    s = dataclasses.replace(s, provider_id=pid, calendar_id=CAL, etag=item.etag, fingerprint=None)
                s = dataclasses.replace(s, create_pending=False)
            elif isinstance(a, Create):
                writes += 1
                self.synced = s = dataclasses.replace(s, create_pending=True, generation=a.generation)  # write-ahead
                pid = f"g{next(self.ids)}"
                self.calendar[pid] = self._item(a.content)
                if crash_after_create:
                    raise Crash
                s = dataclasses.replace(
                    s,
                    provider_id=pid,
                    calendar_id=a.calendar_id,
                    etag=self.calendar[pid].etag,
                    fingerprint=a.content.fingerprint(),
                    response=a.content.response,
                    create_pending=False,
                )
            elif isinstance(a, Update):
                writes += 1
                self.calendar[a.provider_id] = self._item(a.content)
                s = dataclasses.replace(
                    s,
                    etag=self.calendar[a.provider_id].etag,
                    fingerprint=a.content.fingerprint(),
                    response=a.content.response,
                )
            elif isinstance(a, Delete):
                writes += 1
                self.calendar.pop(a.provider_id, None)
                s = dataclasses.replace(
                    s, provider_id=None, calendar_id=None, etag=None, fingerprint=None, response=None
                )
            elif isinstance(a, MarkInSync):
                s = dataclasses.replace(s, rsvp_version=adopted_version or a.rsvp_version)
        self.synced = s
        return writes

    def _item(self, content: EntryContent) -> Item:
        return Item(content, content.key, content.response, f'"{next(self.etags)}"')

    def _check_invariants(self) -> None:
        mine = [i for i in self.calendar.values() if i.key == key()]
        desired = renderer(self.ev)(self.rsvp)
        tomb = self.synced is not None and self.synced.tombstone
        if desired is None or tomb:
            assert mine == [], "an entry exists that should not"
        else:
            assert len(mine) == 1, f"expected exactly one entry, found {len(mine)}"
            assert mine[0].fingerprint == desired.fingerprint(), "the entry does not show the rendered content"
        if self.last_calendar_answer is not None and not self.platform_moved_since_answer and mine:
            assert self.rsvp == self.last_calendar_answer, "a calendar answer was lost"


SyncMachine.TestCase.settings = settings(max_examples=500, stateful_step_count=30, deadline=None)
TestSyncMachine = SyncMachine.TestCase
