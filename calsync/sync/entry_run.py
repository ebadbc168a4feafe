"""Executing one entry's plan against the provider, and recording what happened.

The plan (``calsync.core.plan``) is a list of values; this is the only code that turns them into provider calls
(design.md §7.2). What it guarantees:

- **No second entry from a lost answer.** Before a create is sent, the entry is recorded as ``create_pending``
  with its generation, in a committed transaction. If the worker dies before the provider's answer is recorded,
  the next round's plan sees ``create_pending`` and looks the entry up by its key before creating anything.
- **No blind overwrite.** Updates are conditional on the etag; a 412 makes the executor re-read the entry and the
  planner decide again with the fresh remote leg (bounded). A 404/410 on update means the person deleted it.
- **Partial progress is kept.** Whatever was done before a failure is recorded (``finally``), so a retry does
  not redo a delete or forget a create.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from calsync.core.entry import EntryContent
from calsync.core.model import RsvpStatus
from calsync.core.plan import (
    Action,
    AdoptCalendarAnswer,
    ClearTombstone,
    Create,
    Delete,
    ForgetEntry,
    Lookup,
    MarkInSync,
    Platform,
    RecordRemote,
    Remote,
    RemoteState,
    SetTombstone,
    Synced,
    Update,
    forgotten,
    recorded,
    taken_as_entry,
)
from calsync.errors import CalsyncError, ProviderConflict, ProviderGone, ProviderTransient
from calsync.providers.base import EntriesPort, Written
from calsync.store.db import Database
from calsync.store.entries import EntryRepository
from calsync.sync.calls import RoundCalls

AnswerAdopter = Callable[[int, RsvpStatus, int | None], int | None]
"""(event id, status, expected RSVP version) -> the new RSVP version, or None if the RSVP moved meanwhile."""


@dataclasses.dataclass
class EntryTally:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    answers_adopted: int = 0
    tombstoned: int = 0
    duplicates_removed: int = 0

    def add(self, other: EntryTally) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def write_ahead(s: Synced, action: Create, rsvp_version: int | None) -> Synced:
    """The state recorded before a create is sent: ``create_pending`` with its generation and calendar, and the
    answer being written with the RSVP version it comes from: the baseline a later look-up compares the
    calendar's answer with (found by the simulation, seed 50)."""
    return dataclasses.replace(
        s,
        create_pending=True,
        generation=action.generation,
        calendar_id=action.calendar_id,
        response=action.content.response,
        rsvp_version=rsvp_version,
    )


class _Attempts:
    """Wraps one provider call that ``RoundCalls`` may retry, and remembers whether an attempt failed in a way
    that leaves its outcome unknown (anything but a 429, which the provider answers before acting)."""

    def __init__(self, fn: Callable[..., bool]) -> None:
        self.fn = fn
        self.uncertain = False

    def __call__(self, *args: object) -> bool:
        try:
            return self.fn(*args)
        except ProviderTransient as exc:
            if exc.status != 429:
                self.uncertain = True
            raise


class EntryRun:
    """One (connection, event) in one round: execute plans, re-plan when the provider's answer requires it."""

    def __init__(
        self,
        *,
        db: Database,
        connection_id: int,
        event_id: int,
        key: str,
        calendar_id: str,
        port: EntriesPort,
        calls: RoundCalls,
        adopt: AnswerAdopter,
        tally: EntryTally,
        now: Callable[[], dt.datetime],
        synced: Synced,
        platform: Platform,
    ) -> None:
        self.db = db
        self.connection_id = connection_id
        self.event_id = event_id
        self.key = key
        self.calendar_id = calendar_id
        self.port = port
        self.calls = calls
        self.adopt = adopt
        self.tally = tally
        self.now = now
        self.synced = synced
        self.platform = platform
        self.via: str | None = None
        """How this round reached the entry (``push``, ``poll``, ``resync``), recorded as its "last synced"."""
        self.precreated: Written | CalsyncError | None = None
        """The answer to this entry's create when it was sent in a batch (its write-ahead already committed)."""

    def save(self, *, last_error: str | None = None, clean_seq: int | None = None) -> None:
        """Record the last-synced leg; with ``clean_seq``, also clear the entry's dirty mark unless it was marked
        again since that sequence was read (one transaction: the round's last write for this entry)."""
        with self.db.session() as session:
            EntryRepository(session).save_synced(
                self.connection_id,
                self.event_id,
                self.synced,
                self.now(),
                last_error=last_error,
                clean_seq=clean_seq,
                via=self.via,
            )

    def execute(self, actions: list[Action]) -> Remote | None:
        """Run ``actions`` in order. Returns a fresh remote leg when the planner must decide again, else None."""
        s = self.synced
        adopted_version: int | None = None
        try:
            for action in actions:
                if isinstance(action, AdoptCalendarAnswer):
                    new_version = self.adopt(self.event_id, action.status, action.expected_version)
                    if new_version is not None:
                        adopted_version = new_version
                        self.tally.answers_adopted += 1
                        self.platform = Platform(action.status, new_version)
                elif isinstance(action, RecordRemote):
                    s = recorded(s, action)
                elif isinstance(action, ForgetEntry):
                    s = forgotten(s)
                elif isinstance(action, SetTombstone):
                    s = dataclasses.replace(s, tombstone=True)
                    self.tally.tombstoned += 1
                elif isinstance(action, ClearTombstone):
                    s = dataclasses.replace(s, tombstone=False)
                elif isinstance(action, Lookup):
                    s, remote = self._lookup(s, action.key)
                    return remote
                elif isinstance(action, Create):
                    # Write-ahead: the intent is committed before the provider sees the request, and it is what
                    # gets recorded (``finally``) if the create fails in any way. A batched create's write-ahead
                    # was committed with its batch (calsync.sync.entry_jobs).
                    s = write_ahead(s, action, adopted_version or self.platform.rsvp_version)
                    if self.precreated is None:
                        self.synced = s
                        self.save()
                    s = self._create(s, action)
                elif isinstance(action, Update):
                    try:
                        written = self.calls(
                            self.port.update,
                            action.calendar_id,
                            action.provider_id,
                            action.content,
                            s.generation,
                            action.etag,
                        )
                    except ProviderConflict:  # 412: the entry moved on; re-read it and decide again
                        s, remote = self._reread(s)
                        return remote
                    except ProviderGone:  # deleted in the calendar since we last looked
                        return Remote(RemoteState.ABSENT, action.provider_id)
                    s = self._written(s, written.provider_id, written.etag, action.calendar_id, action.content)
                    self.tally.updated += 1
                elif isinstance(action, Delete):
                    # Write-ahead, as for creates: "already gone" on a first attempt is the person's deletion
                    # (re-plan with the entry absent: a move must not bring it back, seed 385); after an attempt
                    # whose outcome is unknown (a lost answer, a 5xx: in an earlier round, or retried within this
                    # call) it is calsync's own delete, done (seed 1489).
                    first = not s.delete_pending
                    if first:
                        s = dataclasses.replace(s, delete_pending=True)
                        self.synced = s
                        self.save()
                    tried = _Attempts(self.port.delete)
                    existed = self.calls(tried, action.calendar_id or self.calendar_id, action.provider_id)
                    if not existed and first and not tried.uncertain:
                        s = dataclasses.replace(s, delete_pending=False)
                        return Remote(RemoteState.ABSENT, action.provider_id)
                    s = forgotten(s)
                    self.tally.deleted += 1
                elif isinstance(action, MarkInSync):
                    s = dataclasses.replace(
                        s, rsvp_version=adopted_version or action.rsvp_version, changed_unseen=action.changed_unseen
                    )
            return None
        finally:
            self.synced = s

    @staticmethod
    def _written(s: Synced, provider_id: str, etag: str | None, calendar_id: str, content: EntryContent) -> Synced:
        return dataclasses.replace(
            s,
            provider_id=provider_id,
            calendar_id=calendar_id,
            etag=etag,
            fingerprint=content.fingerprint(),
            response=content.response,
            create_pending=False,
            delete_pending=False,
            changed_unseen=False,
        )

    def _create(self, s: Synced, action: Create) -> Synced:
        outcome, self.precreated = self.precreated, None
        try:
            if isinstance(outcome, CalsyncError):
                raise outcome
            written = outcome or self.calls(self.port.create, action.calendar_id, action.content, action.generation)
        except ProviderConflict:
            # 409, and the adapter found no entry of ours behind it (it looks by key first): the id / iCalUID is
            # taken by something else. A new generation gives a new iCalUID / transactionId; one more try.
            s = dataclasses.replace(s, generation=action.generation + 1)
            self.synced = s
            self.save()
            written = self.calls(self.port.create, action.calendar_id, action.content, s.generation)
        self.tally.created += 1
        return self._written(s, written.provider_id, written.etag, action.calendar_id, action.content)

    def _lookup(self, s: Synced, key: str) -> tuple[Synced, Remote]:
        """A create (or a delete) may have landed: adopt what carries the key (keeping one), or conclude that
        nothing is there.

        After a lost create, "nothing live" is ambiguous: the create never happened, or it did and the person
        deleted the entry before calsync looked. Where the provider keeps deleted entries findable (Google:
        ``port.deleted_copy``), the second case is recognised and read as the person's deletion (seed 1806).
        """
        calendar = s.calendar_id or self.calendar_id
        found = sorted(self.calls(self.port.lookup, calendar, key), key=lambda e: e.provider_id)
        for extra in found[1:]:
            self.calls(self.port.delete, calendar, extra.provider_id)
            self.tally.duplicates_removed += 1
        if not found:
            if s.create_pending and (gone := self.calls(self.port.deleted_copy, calendar, key, s.generation)):
                made = dataclasses.replace(s, provider_id=gone, calendar_id=calendar, create_pending=False)
                return made, Remote(RemoteState.ABSENT, gone)
            return forgotten(dataclasses.replace(s, create_pending=False)), Remote()
        keep = found[0]
        return taken_as_entry(s, keep.provider_id, calendar, keep.etag), Remote.of(keep)

    def _reread(self, s: Synced) -> tuple[Synced, Remote]:
        """A conditional update was refused (412): read the entry as it is now and let the planner decide."""
        if s.provider_id is None:  # nothing to re-read: let the planner decide from scratch
            return s, Remote()
        remote = self.calls(self.port.get, s.calendar_id or self.calendar_id, s.provider_id)
        return (dataclasses.replace(s, etag=remote.etag) if remote.etag else s), remote
