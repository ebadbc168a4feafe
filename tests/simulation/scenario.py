"""One seed: a random world, random operations interleaved with faults, then checkpoints where the invariants hold.

``random.Random(seed)`` decides everything the simulation does: the world's size, each operation and its
arguments, each phase's fault rates, and the fate of every push notification; the transport derives its fault
decisions from the same seed (see :mod:`tests.simulation.transport`). A seed is a few *epochs*; each epoch is a
chaotic stretch followed by a checkpoint: faults stop, people whose grant was revoked reconnect, held-back
notifications arrive, and sync rounds run until quiet (at most ``MAX_CONVERGENCE`` passes), then
:func:`tests.simulation.checks.check` runs.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from calsync.core.connection import Provider
from calsync.store.connections import ConnectionRepository
from calsync.sync.report import RoundReport
from tests.simulation.checks import check
from tests.simulation.harness import Harness, Notification
from tests.simulation.model import Expectations
from tests.simulation.operations import Operations
from tests.simulation.transport import FaultRates
from tests.simulation.world import LEASE_SECONDS, POLL_INTERVAL, RoundLog, SimWorld

MAX_CONVERGENCE = 20
"""Passes of sync rounds allowed after the faults stop before a seed fails for not converging."""
NEAR_DAYS = 45
"""Events start 45 to 75 days after today (a date, not an instant: the same all day, whatever the replay's hour)."""
FAR_DAYS = 3 * 365
"""``--far-future``: events three years ahead, beyond the 400-day window calsync asks Graph's delta for."""


@dataclass(frozen=True)
class Size:
    people: tuple[int, int] = (3, 8)
    events: tuple[int, int] = (2, 6)
    epochs: tuple[int, int] = (1, 2)
    steps: tuple[int, int] = (8, 24)


CI_SIZE = Size(people=(3, 5), events=(2, 4), epochs=(1, 1), steps=(8, 24))
LONG_SIZE = Size(people=(3, 8), events=(3, 10), epochs=(2, 4), steps=(20, 60))


@dataclass
class SeedResult:
    seed: int
    violations: list[str] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.violations


class Scenario(Operations):
    def __init__(self, harness: Harness, seed: int, size: Size, *, far_future: bool = False) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.size = size
        self.push = self.rng.random() < 0.5
        self.world = SimWorld(harness, seed, push=self.push)
        today = self.world.clock().date()  # simulated: the same day in every replay
        ahead = dt.timedelta(days=FAR_DAYS if far_future else NEAR_DAYS)
        self.anchor = dt.datetime.combine(today, dt.time(18, 0)) + ahead
        self.exp = Expectations()
        self.result = SeedResult(seed)
        self.step = 0
        self.held: list[Notification] = []
        self.rounds_log = RoundLog(trace=self.trace)
        self.notes = {"drop": 0.0, "dup": 0.0, "hold": 0.0}
        self.cancelled: set[int] = set()
        self.seen_entries: set[str] = set()
        """Provider ids of the entries present at the last checkpoint."""

    def trace(self, line: str) -> None:
        self.result.trace.append(f"{self.step:3d} {line}")

    # ---- the whole seed --------------------------------------------------------------------------------------
    def run(self) -> SeedResult:
        started = time.perf_counter()
        try:
            self._setup()
            for epoch in range(self.rng.randint(*self.size.epochs)):
                self._chaos(epoch)
                self._checkpoint(f"epoch {epoch}")
        finally:
            self.result.stats.update(self.world.h.transport.log.counts)
            self.result.stats["requests"] += self.world.h.transport.log.requests
            self.result.stats["rounds"] += len(self.rounds_log.reports)
            self.result.stats["killed_rounds"] += self.rounds_log.killed
            self.world.close()
            self.result.elapsed = time.perf_counter() - started
        self.result.violations.extend(f"unexpected exception in a round: {u}" for u in self.rounds_log.unexpected)
        return self.result

    def setup(self) -> None:
        """The world and its first checkpoint (public for the checker's own tests)."""
        self._setup()

    def checkpoint(self, label: str) -> None:
        """Faults off, sync until quiet, check: the violations land in ``self.result``."""
        self._checkpoint(label)

    def _setup(self) -> None:
        w, rng = self.world, self.rng
        for i in range(rng.randint(*self.size.people)):
            w.add_person(i, rng.choice((Provider.GOOGLE, Provider.MICROSOFT)))
        for _ in range(rng.randint(*self.size.events)):
            self.op_create_event()
        for person in w.people:
            if rng.random() < 0.85:
                w.connect(person)
                self.trace(f"connect {person.email} {person.provider.value}")
            for eid in w.event_ids:
                if rng.random() < 0.6:
                    self.op_platform_rsvp(person, eid)
        self.trace(f"world: {len(w.people)} people, {len(w.event_ids)} events, push={self.push}")
        self._checkpoint("setup", settle_only=True)

    def _chaos(self, epoch: int) -> None:
        rng = self.rng
        rates = FaultRates(
            throttle=rng.choice((0.0, 0.02, 0.08)),
            unavailable=rng.choice((0.0, 0.02, 0.05)),
            server_error=rng.choice((0.0, 0.0, 0.01)),
            timeout=rng.choice((0.0, 0.0, 0.01)),
            lost_answer=rng.choice((0.0, 0.0, 0.02)),
            kill=rng.choice((0.0, 0.03, 0.08)),
        )
        self.world.h.transport.set_phase(f"epoch-{epoch}", rates)
        plan = self.world.h.sandbox.faults
        for provider in ("google", "microsoft"):
            fp = plan.plan(provider)
            # no latency: requests are sequential (one round, one entry at a time), so a delay could decide
            # nothing, and it would be real time spent
            if rng.random() < 0.3:  # the token endpoint fails once: refreshes are retried or back off
                fp.fail_next(503, method="POST", path_contains="token", retry_after=0)
        self.notes = {
            "drop": rng.choice((0.0, 0.2, 0.5)),
            "dup": rng.choice((0.0, 0.2)),
            "hold": rng.choice((0.0, 0.3)),
        }
        self.trace(f"epoch {epoch}: faults {rates} notifications {self.notes}")
        ops: list[tuple[float, Callable[[], None]]] = [
            (14, self.op_rounds),
            (10, self.op_advance),
            (12, lambda: self.op_platform_rsvp()),
            (9, self.op_calendar_answer),
            (4, self.op_calendar_delete),
            (5, self.op_edit_event),
            (1, self.op_cancel_event),
            (1, self.op_create_event),
            (2, self.op_set_target),
            (2, self.op_disconnect),
            (3, self.op_reconnect),
            (1.5, self.op_revoke),
            (2, self.op_resync),
            (1, self.op_expire_cursors),
            (1, self.op_abandon_claim),
            (6, self.op_notifications),
        ]
        weights = [w for w, _ in ops]
        for _ in range(rng.randint(*self.size.steps)):
            self.step += 1
            _, op = rng.choices(ops, weights)[0]
            op()

    # ---- convergence and the checkpoint ----------------------------------------------------------------------
    def _checkpoint(self, label: str, *, settle_only: bool = False) -> None:
        """Faults off, sync until quiet, check. ``settle_only`` (after the fault-free setup): run what is due
        once, without the extra pass that proves quiet, to keep a seed short."""
        w = self.world
        w.h.transport.set_phase("calm", FaultRates())
        w.h.sandbox.faults.reset()
        self.notes = {"drop": 0.0, "dup": 0.0, "hold": 0.0}
        for person in w.people:
            if person.needs_reconnect:
                self._connect(person, person.provider, why="reconnects after the revoked grant")
        self.step += 1
        for note in self.held:
            w.deliver(note)
        self.held = []
        busy: list[RoundReport] = []
        for passes in range(1, MAX_CONVERGENCE + 1):
            before = len(self.rounds_log.reports)
            if passes == 1 and not settle_only:
                self._advance_until_due()  # every connection polls: nothing seen only in a calendar is missed
            elif busy:
                self._poll_again(busy)  # the ones that did something poll again: their own echo must be quiet
            for _ in range(50):  # bounded: a pass ends when nothing is due any more
                if not w.rounds(8, self.rounds_log):
                    break
                self.op_notifications()
            reports = self.rounds_log.reports[before:]
            busy = [r for r in reports if r.outcome != "ok" or r.did_something()]
            if not busy or settle_only:
                self.result.stats["convergence_passes_max"] = max(self.result.stats["convergence_passes_max"], passes)
                break
        else:
            self.result.violations.append(f"[{label}] sync did not go quiet within {MAX_CONVERGENCE} passes")
        verdict = check(w, self.exp, label)
        self.result.violations.extend(verdict.violations)
        self.exp.new_window(verdict.baseline, verdict.tombstones)
        self.seen_entries = {e.provider_id for p in w.people for e in w.calendar_entries(p.email, p.provider)}
        self.trace(f"checkpoint {label}: {len(verdict.violations)} violations")

    def _poll_again(self, busy: list[RoundReport]) -> None:
        """Make the connections of ``busy`` due with a pull, waiting out a backoff if one asked for it."""
        w = self.world
        now = w.clock()
        wait = max(((r.next_due - now).total_seconds() for r in busy if r.next_due is not None), default=0.0)
        w.advance(min(1200.0, max(0.0, wait) + 1))
        with w.db.session() as s:
            for cid in sorted({r.connection_id for r in busy}):
                ConnectionRepository(s).mark_due(cid, w.clock(), pull=True)

    def _advance_until_due(self) -> None:
        """Move time so every connection is due: its poll, its backoff, any lapsed lease."""
        w = self.world
        now = w.clock()
        latest = max((c.due_at for c in w.all_connections() if c.due_at is not None), default=now)
        w.advance(min(1200.0, max(POLL_INTERVAL + 1, LEASE_SECONDS + 1, (latest - now).total_seconds() + 1)))


def run_seed(harness: Harness, seed: int, *, long: bool = False, far_future: bool = False) -> SeedResult:
    """Run one seed on ``harness``; the result lists every invariant violation (empty when it passed)."""
    size = LONG_SIZE if long else CI_SIZE
    return Scenario(harness, seed, size, far_future=far_future).run()
