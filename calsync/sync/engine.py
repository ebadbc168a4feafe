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
4. **Record**: cursor, ``need_full_sync`` cleared after a clean full round, last success, the next poll, push
   channel upkeep (opened or renewed well before it lapses; providers drop notifications, so polling stays the
   backstop), and a line in the connection's log when anything happened.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from calsync.core.connection import ConnectionStatus
from calsync.core.entry import ATTENDING, EntryContent, RenderContext, entry_key, render
from calsync.core.model import EventStatus, RsvpStatus
from calsync.core.plan import Platform, Remote, Synced, plan, plan_reconcile
from calsync.errors import CalsyncError, ProviderAuthError, ProviderError, ProviderSyncReset, ProviderTransient
from calsync.providers.base import EntriesPort
from calsync.providers.registry import Providers
from calsync.store.connections import ConnectionRecord, ConnectionRepository, InstallationRepository
from calsync.store.db import Database
from calsync.store.entries import EntryRepository
from calsync.store.events import EventRepository
from calsync.store.organizations import OrganizationRepository
from calsync.store.people import PersonRepository
from calsync.store.rsvps import RsvpRepository
from calsync.sync.calls import RoundCalls
from calsync.sync.entry_run import EntryRun, EntryTally
from calsync.sync.limits import Limits
from calsync.sync.push import keep_channel
from calsync.sync.report import EngineSettings, RoundReport
from calsync.sync.tokens import ConnectionUnusable, TokenManager

log = logging.getLogger(__name__)

MAX_REPLANS = 4
ROUND_PARALLELISM = 4
"""Entries of one connection written at once: Graph allows 4 concurrent requests per mailbox (§3.7)."""

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
    ) -> None:
        self.db = db
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
        calls = RoundCalls(
            connection_id=conn.id,
            provider=conn.provider,
            account=conn.account_email,
            token=token,
            tokens=self.tokens,
            limits=self.limits,
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
        delay = min(900.0, 2.0 * 2 ** min(attempts, 9)) * (0.75 + secrets.randbelow(500) / 1000)
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
            current = repo.get(conn.id)
            if current is None or current.status is not ConnectionStatus.CONNECTED:
                return
            repo.update(conn.id, last_error_at=now, error_detail=message[:500], attempts=attempts or current.attempts)
            repo.log(conn.id, now, "sync-error", f"{message[:300]} (retry in {retry_in:.0f} s)", level="error")

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
                with self.db.session(write=False) as session:
                    known = EntryRepository(session).by_provider_ids(conn.id, [pid for pid, _ in page.changes])
                by_id = {e.synced.provider_id: e.event_id for e in known}
                for provider_id, state in page.changes:
                    if provider_id in by_id:
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
            fields: dict[str, object] = dict(
                cursor=cursor,
                target_calendar_id=calendar,
                last_success_at=now,
                attempts=0,
                next_poll_at=next_poll,
            )
            if pulled:
                fields["pull_requested"] = False
            if full and not report.errors:
                fields.update(need_full_sync=False, need_full_sync_reason=None, resync_requested=False)
            if not report.errors:
                fields["error_detail"] = None
            repo.update(conn.id, **fields)
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
        # Entries still in another calendar (the target moved) are not in this listing: the plan moves them.
        in_target = {eid: s for eid, s in stored.items() if s.calendar_id in (None, calendar)}
        matched = plan_reconcile(listing, in_target, installation_id=self.installation_id, connection_id=conn.id)
        for duplicate in matched.duplicates:
            calls(port.delete, calendar, duplicate.provider_id)
            with report.lock:
                report.tally.duplicates_removed += 1
        listed = {item.provider_id: item for item in listing}
        adopted: dict[int, Synced] = {}
        for event_id, provider_id in matched.adopted.items():
            base = in_target.get(event_id) or Synced()
            adopted[event_id] = dataclasses.replace(
                base,
                provider_id=provider_id,
                calendar_id=calendar,
                etag=listed[provider_id].etag,
                fingerprint=None,
                create_pending=False,
            )
            report.adopted_entries += 1
        return dict(matched.remote_by_event), adopted, attending

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
        """Entries are independent, so a round runs up to ``ROUND_PARALLELISM`` of them at once: one person's
        backfill then uses their whole quota (the limits still cap it). A transient or auth error stops the rest."""

        def one(event_id: int) -> None:
            self._entry(
                conn,
                calendar,
                event_id,
                remote.get(event_id, Remote()),
                adopted.get(event_id),
                resync,
                port,
                calls,
                report,
            )

        if len(event_ids) <= 1:
            for event_id in event_ids:
                one(event_id)
            return
        with ThreadPoolExecutor(min(ROUND_PARALLELISM, len(event_ids)), thread_name_prefix="calsync-entry") as pool:
            futures = [pool.submit(one, event_id) for event_id in event_ids]
            first_error: BaseException | None = None
            for future in futures:
                error = None if future.cancelled() else future.exception()  # exception() raises if cancelled
                if error is not None and first_error is None:
                    first_error = error
                    for pending in futures:
                        pending.cancel()
            if first_error is not None:
                raise first_error

    def _entry(
        self,
        conn: ConnectionRecord,
        calendar: str,
        event_id: int,
        remote: Remote,
        adopted: Synced | None,
        resync: bool,
        port: EntriesPort,
        calls: RoundCalls,
        report: RoundReport,
    ) -> None:
        with self.db.session(write=False) as session:
            event = EventRepository(session).get(conn.organization_id, event_id)
            rsvp = RsvpRepository(session).get(event_id, conn.person_id)
            record = EntryRepository(session).get(conn.id, event_id)
            organizer = PersonRepository(session).get(event.organizer_id) if event else None
        seen_seq = record.change_seq if record else 0
        synced = adopted or (record.synced if record else None)
        key = entry_key(self.installation_id, conn.id, event_id)
        if event is not None and organizer is not None:
            ctx = RenderContext(
                self.installation_id,
                conn.id,
                conn.account_email,
                organizer.name,
                organizer.email,
                f"{self.settings.base_url}/events/{event_id}",
            )

            def render_for(status: RsvpStatus | None) -> EntryContent | None:
                return render(event, status, ctx)
        else:

            def render_for(status: RsvpStatus | None) -> EntryContent | None:
                return None

        tally = EntryTally()
        run = EntryRun(
            db=self.db,
            connection_id=conn.id,
            event_id=event_id,
            key=key,
            calendar_id=calendar,
            port=port,
            calls=calls,
            tally=tally,
            now=self.clock,
            synced=synced or Synced(),
            platform=Platform(rsvp.status, rsvp.version) if rsvp else Platform(None, None),
            adopt=lambda eid, status, expected: self.adopt_answer(conn, eid, status, expected),
        )
        error: str | None = None
        try:
            state = synced
            for _ in range(MAX_REPLANS):
                actions = plan(
                    run.platform,
                    state,
                    remote,
                    render_for,
                    key=key,
                    target_calendar_id=calendar,
                    resync=resync,
                )
                fresh = run.execute(actions)
                state = run.synced
                if fresh is None:
                    break
                remote = fresh
            else:
                error = "the entry kept changing while calsync wrote it; it will be retried"
        except (ProviderTransient, ProviderAuthError):
            run.save(last_error=None)
            report.merge(tally, None)
            raise
        except CalsyncError as exc:  # permanent for this entry: record, surface, do not loop on it
            error = exc.message
        run.save(last_error=error)
        wrote = tally.created + tally.updated + tally.deleted
        lag_ms = None
        if wrote and record is not None and record.dirty_since is not None:
            lag_ms = max(0, int((self.clock() - record.dirty_since).total_seconds() * 1000))
        report.merge(tally, f"event {event_id}: {error}" if error else None, lag_ms)
        with self.db.session() as session:
            EntryRepository(session).clean(conn.id, event_id, seen_seq)
