"""Prometheus metrics: what every calsync process counts, and how a process exposes them (docs/deploy.md).

Each process (``calsync serve``, every ``calsync worker``) keeps its own counters and serves them itself
(``/metrics`` on serve, ``--metrics-port`` on a worker): Prometheus scrapes every process as its own target and
``sum()`` adds them up. No shared multiprocess directory is needed because calsync never forks web processes:
several web processes are several ``calsync serve`` processes, each its own target.

Process-local counters are defined here, at module level, on the default registry, and the sync seams touch them
(``sync/calls.py``, ``sync/worker.py``, ``services/notifications.py``). Installation-wide gauges (connections by
state, the oldest unsynced change, live workers) are read from the database at scrape time by
:class:`InstallationCollector`: every process reports the same value, so take ``max()`` of them, not ``sum()``.

This module imports nothing of calsync's, so every layer above the core may count.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_LATEST
# No `*_created` series: a timestamp gauge beside every counter and histogram doubles the output for nothing.
disable_created_metrics()  # type: ignore[no-untyped-call]

_LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
_ROUND_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
_WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0)

CHANGE_TO_WRITTEN = Histogram(
    "calsync_change_to_written_seconds",
    "From the change that marked an entry to its write in the calendar (the sync lag people feel).",
    ["provider"],
    buckets=_LAG_BUCKETS,
)
ENTRIES_WRITTEN = Counter(
    "calsync_entries_written",
    "Calendar entries written, by action: created, updated, deleted, answer_adopted, tombstoned, duplicate_removed.",
    ["provider", "action"],
)
ENTRIES_FAILED = Counter(
    "calsync_entries_failed",
    "Entries a round could not write for a reason retrying will not fix soon (recorded on the entry).",
    ["provider", "action"],
)
PROVIDER_CALLS = Counter(
    "calsync_provider_calls",
    "Provider HTTP calls by kind (port method) and status class: 2xx, 401, 429, 4xx, 5xx, network.",
    ["provider", "kind", "status"],
)
QUOTA_WAIT = Histogram(
    "calsync_quota_wait_seconds",
    "Time a call waited for calsync's own quota bucket before it was sent (quota: user or project).",
    ["provider", "quota"],
    buckets=_WAIT_BUCKETS,
)
THROTTLED = Counter(
    "calsync_provider_throttled",
    "Answers that told calsync to slow down (429, rate-limit 403, Retry-After).",
    ["provider"],
)
NOTIFICATIONS = Counter(
    "calsync_notifications",
    "Push notifications received, by outcome: accepted (connection marked due) or refused (unknown or forged).",
    ["provider", "outcome"],
)
LEASES_HELD = Gauge("calsync_leases_held", "Connections this process holds a lease on (rounds in flight).")
ROUND_DURATION = Histogram(
    "calsync_round_duration_seconds",
    "One sync round of one connection, by outcome (ok, transient, auth, skipped, error).",
    ["provider", "outcome"],
    buckets=_ROUND_BUCKETS,
)


def status_class(status: int | None) -> str:
    """The label for a provider answer's status: 401 and 429 kept apart (they drive refreshes and backoff)."""
    if status is None:
        return "network"
    if status in (401, 429):
        return str(status)
    return f"{status // 100}xx"


@dataclasses.dataclass(frozen=True)
class InstallationSnapshot:
    """What the database says about the whole installation, read at scrape time."""

    connections: dict[tuple[str, str], int]
    """(provider, state) -> count."""
    oldest_unsynced_age: float
    """Seconds since the oldest change not yet in its calendar was made (0 when everything is synced)."""
    live_workers: int
    newest_heartbeat_age: float | None


class InstallationCollector(Collector):
    """Gauges read from the database when Prometheus scrapes (a failed read reports ``calsync_up 0``)."""

    def __init__(self, probe: Callable[[], InstallationSnapshot]) -> None:
        self.probe = probe

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("calsync_database_up", "1 when this scrape could read the database.")
        try:
            snap = self.probe()
        except Exception:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        connections = GaugeMetricFamily(
            "calsync_connections", "Calendar connections by provider and state.", labels=["provider", "state"]
        )
        for (provider, state), count in sorted(snap.connections.items()):
            connections.add_metric([provider, state], count)
        yield connections
        yield GaugeMetricFamily(
            "calsync_oldest_unsynced_change_age_seconds",
            "Age of the oldest change that is not in its calendar yet (0: nothing waiting).",
            value=snap.oldest_unsynced_age,
        )
        yield GaugeMetricFamily(
            "calsync_workers_alive",
            "Worker processes (and serve's own) with a fresh heartbeat.",
            value=snap.live_workers,
        )
        if snap.newest_heartbeat_age is not None:
            yield GaugeMetricFamily(
                "calsync_worker_heartbeat_age_seconds",
                "Seconds since the most recent worker heartbeat.",
                value=snap.newest_heartbeat_age,
            )


def exposition(installation: CollectorRegistry | None = None) -> bytes:
    """This process's counters, then the installation's gauges, in the Prometheus text format."""
    body = _generate_latest(REGISTRY)
    if installation is not None:
        body += _generate_latest(installation)
    return body


def installation_registry(probe: Callable[[], InstallationSnapshot]) -> CollectorRegistry:
    """A registry of its own for the database-backed gauges (one per app or worker: tests build many)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(InstallationCollector(probe))
    return registry
