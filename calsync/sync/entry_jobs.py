"""One round's entries: each read and planned, creates batched where they pay, the rest run in parallel.

A round's entries are independent (design.md §3), so:

- **Plan first.** Every entry is read from the store and planned (:func:`calsync.core.plan.plan`, pure) before
  anything is sent. An entry whose plan is a single create and nothing else that talks to the provider (a
  backfill, a Resync, a move's second half) can share a request with others.
- **Batch the creates.** When a round holds at least :data:`BATCH_MIN` such entries, their write-aheads are
  committed in one transaction and the creates go out as provider batches (Google's batch endpoint, 50 calls per
  request; Graph ``$batch``, 20: ``EntriesPort.BATCH_LIMIT``). A batch saves round trips, not quota: every call
  counts against the provider's limits as if sent alone (provider-facts §1.7, §3.7), and ``RoundCalls.batch``
  takes one token per call. Each item's answer is then recorded exactly as a single create's would be; an item
  the provider throttled or failed (429, 5xx) is sent again on its own, which is safe because creates are keyed
  (a retried import meets its iCalUID, a retried POST its transactionId).
- **Run the rest in parallel**, up to ``ROUND_PARALLELISM`` entries at once: one person's backfill then uses
  their whole quota (the limits still cap it). A transient or auth error stops the rest of the round.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from calsync.core.entry import Display, EntryContent, RenderContext, entry_key, render
from calsync.core.model import Event, Person, RsvpStatus
from calsync.core.plan import (
    Action,
    AdoptCalendarAnswer,
    ClearTombstone,
    Create,
    Delete,
    ForgetEntry,
    MarkInSync,
    Platform,
    Remote,
    Renderer,
    SetTombstone,
    Synced,
    Update,
    plan,
)
from calsync.errors import CalsyncError, ProviderAuthError, ProviderTransient
from calsync.providers.base import EntriesPort, Written
from calsync.store.connections import ConnectionRecord
from calsync.store.db import Database
from calsync.store.entries import EntryRepository
from calsync.store.events import EventRepository
from calsync.store.people import PersonRepository
from calsync.store.rsvps import RsvpRepository
from calsync.sync.calls import RoundCalls
from calsync.sync.entry_run import AnswerAdopter, EntryRun, EntryTally, write_ahead
from calsync.sync.report import RoundReport

_WRITES = ("Create", "Update", "Delete", "Lookup")
"""The provider-facing actions an entry's failure is counted under (calsync_entries_failed)."""

MAX_REPLANS = 4
ROUND_PARALLELISM = 4
"""Entries of one connection written at once: Graph allows 4 concurrent requests per mailbox (§3.7)."""
READ_CHUNK = 500
"""Entries read per query (bounded ``IN`` lists)."""
BATCH_MIN = 3
"""Fewer batchable creates than this go one by one: a batch of one or two saves nothing worth its parsing."""


@dataclasses.dataclass
class EntryJob:
    """One (connection, event) in this round: what was read, and the first plan."""

    event_id: int
    run: EntryRun
    render_for: Renderer
    key: str
    seen_seq: int
    dirty_since: dt.datetime | None
    synced: Synced | None
    """The plan's starting leg (None: never synced, so the platform counts as changed)."""
    remote: Remote
    actions: list[Action]


def batchable(actions: Sequence[Action]) -> Create | None:
    """The create of a plan that is only a create (a backfill, a Resync bringing an entry back): ``Create``,
    ``MarkInSync``, and at most a ``ClearTombstone`` before them.

    Nothing else may come first, because the batch commits every write-ahead before any entry runs: a plan that
    first forgets a mapping (``ForgetEntry``) would leave a write-ahead still naming the old entry, and after a
    crash the next round would not look the new one up. (A cleared tombstone is safe: what cleared it, a Resync
    or a platform change, is still there in the next round.)"""
    *before, create, mark = actions if len(actions) >= 2 else (None, None)
    if (
        isinstance(create, Create)
        and isinstance(mark, MarkInSync)
        and all(isinstance(a, ClearTombstone) for a in before)
    ):
        return create
    return None


def sync_via(actions: Sequence[Action], *, full: bool) -> str | None:
    """How this round syncs an entry, for its "last synced at …, via …" (None: nothing worth saying happened;
    recording an echo of calsync's own write, or confirming a version, is not a sync the person would call one).
    A write to the calendar is a ``push``, a change read from it (an answer, a deletion) a ``poll``; either in a
    full reconcile is a ``resync``."""
    wrote = any(isinstance(a, Create | Update | Delete) for a in actions)
    read = any(isinstance(a, AdoptCalendarAnswer | ForgetEntry | SetTombstone) for a in actions)
    if not (wrote or read):
        return None
    return "resync" if full else "push" if wrote else "poll"


class RoundEntries:
    """The entries of one connection's round (the engine builds one per round)."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Callable[[], dt.datetime],
        installation_id: str,
        base_url: str,
        conn: ConnectionRecord,
        calendar: str,
        resync: bool,
        port: EntriesPort,
        calls: RoundCalls,
        report: RoundReport,
        adopt: AnswerAdopter,
        parallelism: int = ROUND_PARALLELISM,
    ) -> None:
        self.db = db
        self.parallelism = max(1, parallelism)
        self.clock = clock
        self.installation_id = installation_id
        self.base_url = base_url
        self.conn = conn
        self.calendar = calendar
        self.resync = resync
        self.port = port
        self.calls = calls
        self.report = report
        self.adopt = adopt

    # ---- reading and planning --------------------------------------------------------------------------------
    def prepare(
        self, event_ids: Sequence[int], remote: dict[int, Remote], adopted: dict[int, Synced]
    ) -> list[EntryJob]:
        """Read every entry's event, RSVP, entry row and organizer (four queries for the whole round, in chunks),
        then plan each."""
        conn, jobs = self.conn, []
        for start in range(0, len(event_ids), READ_CHUNK):
            ids = list(event_ids[start : start + READ_CHUNK])
            with self.db.session(write=False) as session:
                events = EventRepository(session).many(conn.organization_id, ids)
                rsvps = RsvpRepository(session).for_person_events(conn.person_id, ids)
                records = EntryRepository(session).for_events(conn.id, ids)
                organizers = PersonRepository(session).many_in_organization(
                    conn.organization_id, {e.organizer_id for e in events.values()}
                )
            for event_id in ids:
                event = events.get(event_id)
                organizer = organizers.get(event.organizer_id) if event else None
                record, rsvp = records.get(event_id), rsvps.get(event_id)
                render_for = self._renderer(event, organizer, event_id)
                synced = adopted.get(event_id) or (record.synced if record else None)
                run = EntryRun(
                    db=self.db,
                    connection_id=conn.id,
                    event_id=event_id,
                    key=entry_key(self.installation_id, conn.id, event_id),
                    calendar_id=self.calendar,
                    port=self.port,
                    calls=self.calls,
                    tally=EntryTally(),
                    now=self.clock,
                    synced=synced or Synced(),
                    platform=Platform(rsvp.status, rsvp.version) if rsvp else Platform(None, None),
                    adopt=self.adopt,
                )
                job = EntryJob(
                    event_id,
                    run,
                    render_for,
                    run.key,
                    record.change_seq if record else 0,
                    record.dirty_since if record else None,
                    synced,
                    remote.get(event_id, Remote()),
                    [],
                )
                job.actions = self._plan(job, synced, job.remote)
                run.via = sync_via(job.actions, full=self.report.full)
                jobs.append(job)
        return jobs

    def _renderer(self, event: Event | None, organizer: Person | None, event_id: int) -> Renderer:
        if event is None or organizer is None:

            def nothing(status: RsvpStatus | None) -> EntryContent | None:
                return None

            return nothing
        ctx = RenderContext(
            self.installation_id,
            self.conn.id,
            self.conn.account_email,
            organizer.name,
            organizer.email,
            f"{self.base_url}/events/{event_id}",
            Display(self.conn.display),
        )

        def render_for(status: RsvpStatus | None) -> EntryContent | None:
            return render(event, status, ctx)

        return render_for

    def _plan(self, job: EntryJob, state: Synced | None, remote: Remote) -> list[Action]:
        return plan(
            job.run.platform,
            state,
            remote,
            job.render_for,
            key=job.key,
            target_calendar_id=self.calendar,
            resync=self.resync,
        )

    # ---- executing -------------------------------------------------------------------------------------------
    def run_all(self, event_ids: Sequence[int], remote: dict[int, Remote], adopted: dict[int, Synced]) -> None:
        jobs = self.prepare(event_ids, remote, adopted)
        creates = [(job, create) for job in jobs if (create := batchable(job.actions)) is not None]
        if len(creates) >= BATCH_MIN:
            try:
                self._create_in_batches(creates)
            finally:  # a later batch failing must not lose the answers to the earlier ones
                done = self._record_batched([job for job, _ in creates])
            jobs = [job for job in jobs if job.event_id not in done]
        self._run_parallel(jobs)

    def _create_in_batches(self, creates: list[tuple[EntryJob, Create]]) -> None:
        """Commit every write-ahead at once, send the creates in provider batches, and hand each answer to its
        entry (recorded when the entry runs). A throttled or failed item is left to be sent on its own."""
        for job, create in creates:
            job.run.synced = write_ahead(job.run.synced, create, job.run.platform.rsvp_version)
        self._save_many([job for job, _ in creates], self.clock(), clean=False)
        size = max(1, self.port.BATCH_LIMIT)
        for start in range(0, len(creates), size):
            chunk = creates[start : start + size]
            items = [(create.content, create.generation) for _, create in chunk]
            answers = self.calls.batch(self.port.create_many, len(items), self.calendar, items)
            for (job, _), answer in zip(chunk, answers, strict=True):
                if not isinstance(answer, ProviderTransient):
                    job.run.precreated = answer
            with self.report.lock:
                self.report.batched_creates += len(items)
                self.report.batches += 1

    def _record_batched(self, jobs: list[EntryJob]) -> set[int]:
        """Entries whose batched create was answered: finish their plans (no provider call is left in them) and
        record them all in one transaction. Returns their event ids; the others run on their own."""
        finished: list[EntryJob] = []
        for job in jobs:
            if isinstance(job.run.precreated, Written) and job.run.execute(job.actions) is None:
                finished.append(job)
        if not finished:
            return set()
        now = self.clock()
        self._save_many(finished, now, clean=True)
        for job in finished:
            self.report.merge(job.run.tally, None, self._lag_ms(job, now))
        return {job.event_id for job in finished}

    def _save_many(self, jobs: list[EntryJob], now: dt.datetime, *, clean: bool) -> None:
        """Record several entries' legs (and clear their marks, in the same UPDATE): in one transaction on SQLite,
        whose single writer makes that the cheap way; one transaction per entry on PostgreSQL, so a worker never
        holds many entry rows while a person's RSVP change waits on one of them."""
        groups = [jobs] if self.db.dialect == "sqlite" else [[job] for job in jobs]
        for group in groups:
            seen = {job.event_id: job.seen_seq for job in group} if clean else None
            with self.db.session() as session:
                legs = {job.event_id: job.run.synced for job in group}
                via = {job.event_id: job.run.via for job in group if job.run.via}
                EntryRepository(session).save_synced_many(self.conn.id, legs, now, seen=seen, via=via)

    def _lag_ms(self, job: EntryJob, now: dt.datetime) -> int | None:
        if job.dirty_since is None:
            return None
        return max(0, int((now - job.dirty_since).total_seconds() * 1000))

    def _run_parallel(self, jobs: list[EntryJob]) -> None:
        if len(jobs) <= 1 or self.parallelism == 1:
            for job in jobs:
                self.run(job)
            return
        with ThreadPoolExecutor(min(self.parallelism, len(jobs)), thread_name_prefix="calsync-entry") as pool:
            futures = [pool.submit(self.run, job) for job in jobs]
            first_error: BaseException | None = None
            for future in futures:
                error = None if future.cancelled() else future.exception()  # exception() raises if cancelled
                if error is not None and first_error is None:
                    first_error = error
                    for pending in futures:
                        pending.cancel()
            if first_error is not None:
                raise first_error

    def run(self, job: EntryJob) -> None:
        """Execute the entry's plan, planning again when the provider's answer requires it (bounded), and
        record the outcome, the round's tally and the sync lag."""
        run, tally = job.run, job.run.tally
        error: str | None = None
        try:
            actions, remote = job.actions, job.remote
            for _ in range(MAX_REPLANS):
                fresh = run.execute(actions)
                if fresh is None:
                    break
                remote = fresh
                actions = self._plan(job, run.synced, remote)
            else:
                error = "the entry kept changing while calsync wrote it; it will be retried"
        except (ProviderTransient, ProviderAuthError):
            run.save(last_error=None)
            self.report.merge(tally, None)
            raise
        except CalsyncError as exc:  # permanent for this entry: record, surface, do not loop on it
            error = exc.message
        run.save(last_error=error, clean_seq=job.seen_seq)
        wrote = tally.created + tally.updated + tally.deleted
        lag_ms = self._lag_ms(job, self.clock()) if wrote else None
        action = next((type(a).__name__.lower() for a in job.actions if type(a).__name__ in _WRITES), "other")
        self.report.merge(tally, f"event {job.event_id}: {error}" if error else None, lag_ms, action=action)
