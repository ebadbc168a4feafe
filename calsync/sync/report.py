"""What a sync round is configured with, and what it reports (the worker, the CLI and the benchmarks read it)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

from calsync.sync.entry_run import EntryTally


@dataclasses.dataclass(frozen=True)
class EngineSettings:
    base_url: str
    poll_interval: float = 300.0
    push_enabled: bool = False
    webhook_base_url: str = ""
    renew_margin: float = 0.25
    """Renew a push channel when less than this fraction of its lifetime is left."""
    round_parallelism: int = 4
    """Entries of one round written at once (``entry_jobs.ROUND_PARALLELISM``); 1 runs them one after another in
    a fixed order, which the simulation uses so that no thread timing decides which entries a failing round did."""


@dataclasses.dataclass
class RoundReport:
    connection_id: int
    provider: str = "unknown"
    """google | microsoft, once the round knows the connection (the metrics' label)."""
    outcome: str = "ok"
    """ok | transient | auth | skipped | error"""
    full: bool = False
    pulled_changes: int = 0
    calls: int = 0
    throttled: int = 0
    entries: int = 0
    tally: EntryTally = dataclasses.field(default_factory=EntryTally)
    adopted_entries: int = 0
    batches: int = 0
    """Provider batch requests this round sent (calsync.sync.entry_jobs)."""
    batched_creates: int = 0
    """Creates those batches carried."""
    errors: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    """Things that degrade but do not fail the round (push notifications unavailable: polling covers it)."""
    retry_after: float | None = None
    next_due: dt.datetime | None = None
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False, compare=False)

    lags_ms: list[int] = dataclasses.field(default_factory=list)
    """For each entry this round wrote: milliseconds from the change that marked it to the write."""

    failed_actions: list[str] = dataclasses.field(default_factory=list)
    """For each entry that ended with an error: the action it was planned to take (create, update, ...)."""

    def merge(
        self, tally: EntryTally, error: str | None, lag_ms: int | None = None, *, action: str | None = None
    ) -> None:
        """Entries of a round run in parallel: each keeps its own tally, merged here."""
        with self.lock:
            self.entries += 1
            self.tally.add(tally)
            if error is not None:
                self.errors.append(error)
                self.failed_actions.append(action or "unknown")
            if lag_ms is not None:
                self.lags_ms.append(lag_ms)

    def did_something(self) -> bool:
        t = self.tally
        return bool(
            self.full
            or self.errors
            or self.adopted_entries
            or t.created
            or t.updated
            or t.deleted
            or t.answers_adopted
            or t.tombstoned
            or t.duplicates_removed
        )

    def summary(self) -> str:
        t = self.tally
        parts = [
            f"{'full' if self.full else 'incremental'} round: {t.created} created, {t.updated} updated, "
            f"{t.deleted} deleted, {t.answers_adopted} answers from the calendar"
        ]
        if t.tombstoned:
            parts.append(f"{t.tombstoned} deleted by you (kept deleted)")
        if t.duplicates_removed or self.adopted_entries:
            parts.append(f"{self.adopted_entries} adopted, {t.duplicates_removed} duplicates removed")
        if self.batches:
            parts.append(f"{self.batched_creates} creates sent in {self.batches} batch requests")
        if self.lags_ms:
            parts.append(f"longest wait from a change to the calendar {max(self.lags_ms) / 1000:.1f} s")
        if self.errors:
            parts.append(f"{len(self.errors)} errors")
        return "; ".join(parts)
