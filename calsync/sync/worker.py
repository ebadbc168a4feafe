"""Workers: claim due connections under a lease and run one engine round for each (design.md §3).

One worker process runs ``concurrency`` rounds at once on a thread pool (every OAuth library is synchronous; the
providers' quotas, not the client, set the ceiling). A heartbeat thread renews the leases of the rounds in
flight, records the worker as alive, shares Google's per-project budget between the live workers, and forgets
workers that stopped beating. A worker killed outright simply stops renewing: its leases lapse and another worker
claims those connections (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one writer on SQLite). The loop is the only
place with a catch-all: an unexpected error in a round is logged with its connection and the worker carries on
(Zulip's ``zerver/worker/base.py`` does the same).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from calsync import metrics
from calsync.store.db import Database
from calsync.store.work import Claim, WorkRepository
from calsync.sync.engine import Engine
from calsync.sync.limits import Limits
from calsync.sync.report import RoundReport

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        db: Database,
        engine: Engine,
        limits: Limits,
        *,
        clock: Callable[[], dt.datetime],
        concurrency: int = 8,
        lease_seconds: float = 30.0,
        idle_sleep: float = 0.2,
        worker_id: str | None = None,
        on_round: Callable[[RoundReport], None] | None = None,
    ) -> None:
        self.db = db
        self.engine = engine
        self.limits = limits
        self.clock = clock
        self.concurrency = concurrency
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.idle_sleep = idle_sleep
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.on_round = on_round
        self._inflight: dict[int, tuple[Claim, Future[RoundReport]]] = {}
        self._lock = threading.Lock()

    # ---- claiming and releasing --------------------------------------------------------------------------------
    def claim(self, limit: int) -> list[Claim]:
        with self.db.session() as session:
            claims = WorkRepository(session).claim(self.id, self.clock(), self.lease, limit)
        metrics.LEASES_HELD.inc(len(claims))
        return claims

    def release(self, claim: Claim, report: RoundReport) -> None:
        now = self.clock()
        next_due = report.next_due if report.outcome != "auth" else None
        with self.db.session() as session:
            WorkRepository(session).release(self.id, claim, now, next_due, pull_next=False)
        metrics.LEASES_HELD.dec()

    def _round(self, claim: Claim) -> RoundReport:
        started = time.monotonic()
        try:
            report = self.engine.reconcile(claim.connection_id)
        except Exception:  # the one catch-all: record, carry on with other connections
            log.exception("sync round for connection %s failed unexpectedly", claim.connection_id)
            report = RoundReport(claim.connection_id, outcome="error", errors=["internal error; see the logs"])
            report.next_due = self.clock() + dt.timedelta(seconds=60)
        _count(report, time.monotonic() - started)
        if self.on_round is not None:
            self.on_round(report)
        return report

    def run_once(self, limit: int | None = None) -> list[RoundReport]:
        """Claim what is due and run those rounds to completion, in this thread (tests, `calsync resync`)."""
        reports = []
        for claim in self.claim(limit or self.concurrency):
            report = self._round(claim)
            self.release(claim, report)
            reports.append(report)
        return reports

    def drain(self, *, max_rounds: int = 1000) -> list[RoundReport]:
        """Run rounds until nothing is due (bounded): what a test or a CLI command waits for."""
        reports: list[RoundReport] = []
        for _ in range(max_rounds):
            batch = self.run_once()
            if not batch:
                return reports
            reports.extend(batch)
        raise RuntimeError(f"work still due after {max_rounds} rounds")

    # ---- the long-running loop ----------------------------------------------------------------------------------
    def heartbeat(self) -> None:
        now = self.clock()
        with self._lock:
            held = list(self._inflight)
        with self.db.session() as session:
            work = WorkRepository(session)
            work.heartbeat(self.id, socket.gethostname(), os.getpid(), now)
            work.renew(self.id, held, now, self.lease)
            live = work.live_workers(now, self.lease * 2)
            work.reap_workers(now, dt.timedelta(minutes=10))
        self.limits.share_project(live)

    def run(self, stop: threading.Event) -> None:
        """Claim and run rounds until ``stop`` is set; leases are renewed every third of their length."""
        beat_stop = threading.Event()

        def beat() -> None:
            while not beat_stop.wait(self.lease.total_seconds() / 3):
                try:
                    self.heartbeat()
                except Exception:
                    log.exception("worker heartbeat failed")

        self.heartbeat()
        beater = threading.Thread(target=beat, name=f"calsync-heartbeat-{self.id}", daemon=True)
        beater.start()
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="calsync-sync") as pool:
            try:
                while not stop.is_set():
                    progressed = self._reap_done()
                    free = self.concurrency - len(self._inflight)
                    claims = self.claim(free) if free > 0 else []
                    for claim in claims:
                        with self._lock:
                            self._inflight[claim.connection_id] = (claim, pool.submit(self._round, claim))
                    if not claims and not progressed:
                        with self._lock:
                            running = [future for _, future in self._inflight.values()]
                        if running and free <= 0:
                            # Every slot is busy: wake as soon as a round finishes, not a whole idle sleep later
                            # (a slot sat empty ~0.1 s per round and polls started late: bench/pull_latency).
                            wait(running, timeout=self.idle_sleep, return_when=FIRST_COMPLETED)
                        else:
                            stop.wait(self.idle_sleep)
            finally:
                for claim, future in list(self._inflight.values()):
                    report = future.result()
                    self.release(claim, report)
                self._inflight.clear()
                beat_stop.set()
                beater.join(timeout=5)
                with self.db.session() as session:
                    WorkRepository(session).forget_worker(self.id)

    def _reap_done(self) -> bool:
        done = [(c, f) for c, f in list(self._inflight.values()) if f.done()]
        for claim, future in done:
            self.release(claim, future.result())
            with self._lock:
                self._inflight.pop(claim.connection_id, None)
        return bool(done)


_WRITTEN = {
    "created": "created",
    "updated": "updated",
    "deleted": "deleted",
    "answers_adopted": "answer_adopted",
    "tombstoned": "tombstoned",
    "duplicates_removed": "duplicate_removed",
}


def _count(report: RoundReport, seconds: float) -> None:
    """A finished round into the process's metrics (calsync.metrics): duration, entries, the sync lag."""
    provider = report.provider
    metrics.ROUND_DURATION.labels(provider, report.outcome).observe(seconds)
    for field, action in _WRITTEN.items():
        if n := getattr(report.tally, field):
            metrics.ENTRIES_WRITTEN.labels(provider, action).inc(n)
    for action in report.failed_actions:
        metrics.ENTRIES_FAILED.labels(provider, action).inc()
    for lag_ms in report.lags_ms:
        metrics.CHANGE_TO_WRITTEN.labels(provider).observe(lag_ms / 1000)
