"""The sync engine: one round for one connection is pull → plan → execute → record (design.md §3).

A round runs while its worker holds the connection's lease, so exactly one round per connection runs at a time.

1. **Token.** A usable access token (refreshed ahead of expiry); an unusable grant ends the round before any
   call (the connection is already in error and off the queue).
2. **Pull.** Incremental (Google ``syncToken``, Graph ``calendarView/delta``) when the poll is due or a push
   notification asked for it; a dead cursor (410 and friends) turns the round into a full one. A **full
   reconcile** (on connect, reconnect, expired sync state, auth recovery, a person's Resync) lists every calsync
   entry of the connection in the target calendar, adopts the ones the store does not know, deletes duplicates,
   and takes a fresh cursor; it also backfills the person's upcoming accepted and tentative events.
3. **Plan and execute** per entry that is dirty or changed remotely (:mod:`calsync.sync.entry_run`).
4. **Record**: cursor, ``need_full_sync`` cleared after a clean full round (a request flag only if no new request
   arrived while the round ran: its counter still has the value the round read), last success, the next poll, push
   channel upkeep (opened or renewed well before it lapses; providers drop notifications, so polling stays the
   backstop), and a line in the connection's log when anything happened.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import secrets
import time
from collections.abc import Callable

from calsync.core.entry import ATTENDING, parse_entry_key
from calsync.core.model import EventStatus, RsvpStatus
from calsync.core.plan import (
    ListedEntry,
    Remote,
    RemoteState,
    Synced,
    forgotten,
    plan_reconcile,
    taken_as_entry,
)
from calsync.core.validation import shorten
from calsync.errors import (
    CalsyncError,
    ProviderAuthError,
    ProviderError,
    ProviderGone,
    ProviderSyncReset,
    ProviderTransient,
)
from calsync.providers.base import EntriesPort
from calsync.providers.registry import Providers
from calsync.store.connections import ConnectionRecord, ConnectionRepository, InstallationRepository, RoundResult
from calsync.store.db import Database
from calsync.store.entries import EntryRepository
from calsync.store.organizations import OrganizationRepository
from calsync.store.rsvps import RsvpRepository
from calsync.sync.calls import RoundCalls
from calsync.sync.entry_jobs import BATCH_MIN, RoundEntries
from calsync.sync.limits import Limits
from calsync.sync.push import keep_channel
from calsync.sync.report import EngineSettings, RoundReport
from calsync.sync.tokens import ConnectionUnusable, TokenManager

log = logging.getLogger(__name__)

CONFIRM_LIMIT = 5000
"""An incremental pull reporting more than this many changes confirms nothing (keeps the query bounded; leaving
``changed_unseen`` set only means a later deletion re-creates the entry rather than tombstoning it)."""

AnswerAdopterFor = Callable[[ConnectionRecord, int, RsvpStatus, int | None], int | None]
"""(connection, event id, status, expected RSVP version) -> new version or None: changes the platform RSVP the
way the platform does (services.rsvps.set_rsvp), with the provider as its source."""


class Engine:
    def __init__(
        self,
        *,
        db: Database,
        tokens: TokenManager,
        providers: Providers,
        limits: Limits,
        clock: Callable[[], dt.datetime],
        settings: EngineSettings,
        adopt_answer: AnswerAdopterFor,
        jitter_seed: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.db = db
        self.sleep = sleep
        """How an in-round retry waits (the simulation passes its clock's, so simulated time passes instead)."""
        self.jitter_seed = jitter_seed or secrets.token_hex(8)
        """Backoff jitter is a function of (this seed, connection, attempt): it spreads connections apart as well
        as a random draw would, and a fixed seed makes a simulated run replay the same schedule."""
        self.tokens = tokens
        self.providers = providers
        self.limits = limits
        self.clock = clock
        self.settings = settings
        self.adopt_answer = adopt_answer
        with db.session() as session:
            self.installation_id = InstallationRepository(session).installation_id(clock())

    # ---- one round -----------------------------------------------------------------------------------------
    def reconcile(self, connection_id: int) -> RoundReport:
        report = RoundReport(connection_id)
        now = self.clock()
        try:
            token, conn = self.tokens.access_token(connection_id)
        except ConnectionUnusable:
            report.outcome = "skipped"
            return report
        except ProviderAuthError as exc:
            report.outcome, report.errors = "auth", [exc.reason]
            return report
        except ProviderTransient as exc:
            return self._transient(report, conn=None, exc=exc, now=now)
        with self.db.session(write=False) as session:
            org = OrganizationRepository(session).get(conn.organization_id)
        if org is None or not org.events_enabled:  # seeds: without the Events module nothing syncs
            report.outcome = "skipped"
            report.next_due = now + dt.timedelta(seconds=self.settings.poll_interval)
            return report
        report.provider = conn.provider.value
        calls = RoundCalls(
            connection_id=conn.id,
            provider=conn.provider,
            account=conn.account_email,
            token=token,
            tokens=self.tokens,
            limits=self.limits,
            sleep=self.sleep,
            rng=random.Random(f"{self.jitter_seed}:{conn.id}:{now.isoformat()}"),
        )
        try:
            self._round(conn, calls, report, now)
        except ProviderAuthError as exc:
            report.outcome = "auth"
            report.errors.append(exc.reason)
        except ProviderTransient as exc:
            self._transient(report, conn=conn, exc=exc, now=now)
        except ProviderError as exc:
            report.outcome = "error"
            report.errors.append(exc.message)
            self._record_failure(conn, exc.message, now, retry_in=self.settings.poll_interval)
            report.next_due = now + dt.timedelta(seconds=self.settings.poll_interval)
        finally:
            report.calls = calls.count
            report.throttled = calls.throttled
        return report

    def _transient(
        self, report: RoundReport, *, conn: ConnectionRecord | None, exc: ProviderTransient, now: dt.datetime
    ) -> RoundReport:
        """Back off: exponential in the connection's consecutive failures, jittered, at least Retry-After."""
        attempts = (conn.attempts if conn else 0) + 1
        spread = random.Random(f"{self.jitter_seed}:{report.connection_id}:{attempts}").random()
        delay = min(900.0, 2.0 * 2 ** min(attempts, 9)) * (0.75 + spread / 2)
        delay = max(delay, exc.retry_after or 0.0)
        report.outcome, report.retry_after = "transient", exc.retry_after
        report.errors.append(exc.message)
        report.next_due = now + dt.timedelta(seconds=delay)
        if conn is not None:
            self._record_failure(conn, exc.message, now, retry_in=delay, attempts=attempts)
        return report

    def _record_failure(
        self, conn: ConnectionRecord, message: str, now: dt.datetime, *, retry_in: float, attempts: int | None = None
    ) -> None:
        with self.db.session() as session:
            repo = ConnectionRepository(session)
            if repo.record_failure(conn.id, now, message, attempts=attempts):
                detail = f"{shorten(message, 300)} (retry in {retry_in:.0f} s)"
                repo.log(conn.id, now, "sync-error", detail, level="error")

    def _round(self, conn: ConnectionRecord, calls: RoundCalls, report: RoundReport, now: dt.datetime) -> None:
        port = self.providers.entries(conn.provider, conn.account_email)
        calendar = conn.target_calendar_id or self._primary_calendar(conn, calls)
        full, resync = conn.need_full_sync, conn.resync_requested
        cursor = conn.cursor
        poll_due = conn.next_poll_at is None or conn.next_poll_at <= now
        remote: dict[int, Remote] = {}
        adopted: dict[int, Synced] = {}
        pulled = False
        if not full and (conn.pull_requested or poll_due or cursor is None):
            try:
                page = calls(port.pull, calendar, cursor, now)
            except ProviderSyncReset:
                full, cursor = True, None  # the provider forgot our place: reconcile everything
            else:
                pulled, cursor = True, page.cursor
                report.pulled_changes = len(page.changes)
                reported = [pid for pid, _ in page.changes]
                with self.db.session(write=False) as session:
                    known = EntryRepository(session).by_provider_ids(conn.id, reported)
                    unseen = EntryRepository(session).any_unseen(conn.id)
                if unseen and conn.cursor and len(reported) <= CONFIRM_LIMIT:
                    with self.db.session() as session:  # unreported entries are unchanged: still there
                        EntryRepository(session).confirm_seen(conn.id, reported)
                by_id = {e.synced.provider_id: e.event_id for e in known}
                for provider_id, state in page.changes:
                    if provider_id in by_id:
                        if provider_id in page.unconfirmed:
                            # A removal that may not be a deletion (Graph: an event leaving the delta window,
                            # provider-facts §3.5): read the entry itself before believing it is gone.
                            state = calls(port.get, calendar, provider_id)
                        remote[by_id[provider_id]] = state
        work: set[int] = set()
        if full:
            report.full = True
            remote, adopted, backfill = self._full(conn, calendar, port, calls, report, now)
            cursor = calls(port.pull, calendar, None, now).cursor  # a fresh place for the next incremental pull
            pulled = True
            work |= backfill
        with self.db.session(write=False) as session:
            work |= {e.event_id for e in EntryRepository(session).for_connection(conn.id, dirty_only=not full)}
        work |= set(remote) | set(adopted)
        self._entries(conn, calendar, sorted(work), remote, adopted, resync and full, port, calls, report)
        channel = keep_channel(self.db, self.providers, conn, calendar, calls, now, report, self.settings)
        next_poll = now + dt.timedelta(seconds=self.settings.poll_interval) if pulled else conn.next_poll_at
        report.next_due = next_poll or now + dt.timedelta(seconds=self.settings.poll_interval)
        if channel is not None and channel.expires_at < report.next_due:
            report.next_due = channel.expires_at
        with self.db.session() as session:
            repo = ConnectionRepository(session)
            # Clears only the requests this round consumed: one that arrived meanwhile stays (record_round).
            result = RoundResult(cursor, calendar, next_poll, pulled=pulled, full=full, clean=not report.errors)
            repo.record_round(conn, now, result)
            if report.did_something():
                repo.log(
                    conn.id,
                    now,
                    "sync",
                    report.summary(),
                    level="error" if report.errors else "info",
                    lag_ms=max(report.lags_ms) if report.lags_ms else None,
                )

    def _primary_calendar(self, conn: ConnectionRecord, calls: RoundCalls) -> str:
        directory = self.providers.calendars(conn.provider)
        calendars = calls(directory.list_calendars)
        primary = next((c for c in calendars if c.primary), None)
        if primary is None:
            raise ProviderError("the account has no primary calendar", provider=conn.provider.value)
        return primary.id

    def _full(
        self,
        conn: ConnectionRecord,
        calendar: str,
        port: EntriesPort,
        calls: RoundCalls,
        report: RoundReport,
        now: dt.datetime,
    ) -> tuple[dict[int, Remote], dict[int, Synced], set[int]]:
        listing = calls(port.list_connection, calendar, f"{self.installation_id}.{conn.id}")
        with self.db.session(write=False) as session:
            stored = {e.event_id: e.synced for e in EntryRepository(session).for_connection(conn.id)}
            attending = {
                rsvp.event_id
                for rsvp, event in RsvpRepository(session).for_person(conn.person_id, ending_after=now)
                if rsvp.status in ATTENDING and event.status is EventStatus.SCHEDULED
            }
        in_target = {eid: s for eid, s in stored.items() if s.calendar_id in (None, calendar)}
        elsewhere = {
            eid: s
            for eid, s in stored.items()
            if (s.provider_id or s.create_pending) and s.calendar_id not in (None, calendar)
        }
        matched = plan_reconcile(listing, in_target, installation_id=self.installation_id, connection_id=conn.id)
        self._remove(calendar, [d.provider_id for d in matched.duplicates], port, calls, report)
        remote = dict(matched.remote_by_event)
        adopted: dict[int, Synced] = {}
        self._moving(conn, elsewhere, set(matched.adopted), port, calls, report, remote, adopted)
        listed = {item.provider_id: item for item in listing}
        for event_id, provider_id in matched.adopted.items():
            base = in_target.get(event_id) or elsewhere.get(event_id) or Synced()
            adopted[event_id] = taken_as_entry(base, provider_id, calendar, listed[provider_id].etag)
            report.adopted_entries += 1
        return remote, adopted, attending

    def _remove(
        self, calendar: str, provider_ids: list[str], port: EntriesPort, calls: RoundCalls, report: RoundReport
    ) -> None:
        """Delete duplicates (copies calsync does not map): in provider batches when there are several (a restored
        backup can leave hundreds), each throttled or failed one sent again on its own."""
        if len(provider_ids) >= BATCH_MIN:
            answers: list[bool | CalsyncError] = []
            size = max(1, port.BATCH_LIMIT)
            for start in range(0, len(provider_ids), size):
                chunk = provider_ids[start : start + size]
                answers += calls.batch(port.delete_many, len(chunk), calendar, chunk)
            again = [pid for pid, answer in zip(provider_ids, answers, strict=True) if isinstance(answer, CalsyncError)]
        else:
            again = provider_ids
        for provider_id in again:
            calls(port.delete, calendar, provider_id)
        with report.lock:
            report.tally.duplicates_removed += len(provider_ids)

    def _moving(
        self,
        conn: ConnectionRecord,
        elsewhere: dict[int, Synced],
        adopted_here: set[int],
        port: EntriesPort,
        calls: RoundCalls,
        report: RoundReport,
        remote: dict[int, Remote],
        adopted: dict[int, Synced],
    ) -> None:
        """Entries calsync still maps in a calendar that is no longer the target (the person picked another).

        Each old calendar is listed once (not one read per entry), so an answer given on an entry there, or its
        deletion by the person, counts before the entry moves (seed 385): listed -> PRESENT, missing -> ABSENT.
        Where the new target already holds a copy (an earlier target, a lost create there), that copy is kept and
        the old one removed as a duplicate. An old calendar that no longer exists (404) took its entries with it
        by the person's choice of calendar, not entry by entry: they are forgotten, without tombstones, and
        created in the new target.
        """
        by_calendar: dict[str, dict[int, Synced]] = {}
        for event_id, old in elsewhere.items():
            by_calendar.setdefault(old.calendar_id or "", {})[event_id] = old
        for old_calendar, group in by_calendar.items():
            try:
                listing = calls(port.list_connection, old_calendar, f"{self.installation_id}.{conn.id}")
            except ProviderGone:
                for event_id, old in group.items():
                    if event_id not in adopted_here:
                        adopted[event_id] = dataclasses.replace(forgotten(old), create_pending=False)
                continue
            found: dict[int, list[ListedEntry]] = {}
            for item in listing:
                parsed = parse_entry_key(item.key)
                if parsed is not None and parsed[2] in group:
                    found.setdefault(parsed[2], []).append(item)
            for event_id, old in group.items():
                items = sorted(found.get(event_id, []), key=lambda i: (i.provider_id != old.provider_id, i.provider_id))
                keep = None if event_id in adopted_here or not items else items[0]
                for extra in items if keep is None else items[1:]:
                    calls(port.delete, old_calendar, extra.provider_id)  # a copy too many: the target holds one
                    with report.lock:
                        report.tally.duplicates_removed += 1
                if event_id in adopted_here:
                    continue
                if keep is not None and keep.provider_id != old.provider_id:
                    # A create whose answer was lost made this copy (or the mapped one is gone and a copy stayed):
                    # take it as the entry, so it moves like one.
                    adopted[event_id] = taken_as_entry(old, keep.provider_id, old_calendar, keep.etag)
                if keep is not None:
                    remote[event_id] = Remote.of(keep)
                elif old.provider_id is not None:
                    remote[event_id] = Remote(RemoteState.ABSENT, old.provider_id)
                # else: a create whose outcome is unknown and nothing there: the plan looks it up (and may find it
                # deleted by the person, where the provider can tell).

    def _entries(
        self,
        conn: ConnectionRecord,
        calendar: str,
        event_ids: list[int],
        remote: dict[int, Remote],
        adopted: dict[int, Synced],
        resync: bool,
        port: EntriesPort,
        calls: RoundCalls,
        report: RoundReport,
    ) -> None:
        RoundEntries(
            db=self.db,
            clock=self.clock,
            installation_id=self.installation_id,
            base_url=self.settings.base_url,
            conn=conn,
            calendar=calendar,
            resync=resync,
            port=port,
            calls=calls,
            report=report,
            adopt=lambda eid, status, expected: self.adopt_answer(conn, eid, status, expected),
            parallelism=self.settings.round_parallelism,
        ).run_all(event_ids, remote, adopted)
