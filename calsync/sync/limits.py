"""Staying inside the providers' quotas from every worker at once (provider-facts §1.8, §3.7).

- Google: 600 requests/min per user per project (sliding window) and 10,000/min per project. One worker holds a
  connection at a time (the lease), so the per-user budget is local to that worker; the per-project budget is
  shared, so each worker process takes ``project_limit / live workers`` (live workers are counted in the store
  by their heartbeats).
- Graph: 4 concurrent requests per mailbox, 10,000 per 10 min per app and mailbox.

Limits are token buckets refilled continuously (a smooth sliding window). ``acquire`` blocks up to a bound and
returns the seconds it waited; callers never exceed a budget, so the provider's 429 is a fault, not a habit.
A 429 or ``Retry-After`` that does arrive pauses the bucket for that long (:meth:`TokenBucket.pause`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per ``per`` seconds, bursting to ``burst``. Thread-safe."""

    def __init__(
        self, rate: float, per: float, *, burst: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or per <= 0:
            raise ValueError("a token bucket needs a positive rate and period")
        self.fill_per_second = rate / per
        self.capacity = burst if burst is not None else max(1.0, rate / 60.0)
        self.tokens = self.capacity
        self.clock = clock
        self.updated = clock()
        self.paused_until = 0.0
        self.lock = threading.Lock()

    def set_rate(self, rate: float, per: float) -> None:
        with self.lock:
            self.fill_per_second = max(rate, 1e-6) / per

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.fill_per_second)
        self.updated = now

    def try_acquire(self) -> float:
        """Take a token now (returns 0.0) or say how long until one is due (returns > 0)."""
        with self.lock:
            now = self.clock()
            self._refill(now)
            if now < self.paused_until:
                return self.paused_until - now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return 0.0
            return (1.0 - self.tokens) / self.fill_per_second

    def acquire(self, *, timeout: float = 60.0, sleep: Callable[[float], None] = time.sleep) -> float:
        """Block until a token is taken; raise TimeoutError past ``timeout``. Returns the seconds waited."""
        waited = 0.0
        while True:
            wait = self.try_acquire()
            if wait <= 0:
                return waited
            if waited + wait > timeout:
                raise TimeoutError(f"rate limit: no request budget within {timeout:.0f}s")
            sleep(wait)
            waited += wait

    def pause(self, seconds: float) -> None:
        """The provider said slow down (429, Retry-After): no request from this bucket for ``seconds``."""
        with self.lock:
            self.paused_until = max(self.paused_until, self.clock() + seconds)
            self.tokens = 0.0


USER_BURST = 10
"""Requests a Google user's bucket may send at once. With 97% of 600/min refilled per minute, burst plus one
minute's refill (10 + 582) stays under Google's 600/min sliding window, so a full-speed backfill is never refused
(the benchmark saw a burst of 20 reach 601 in one window)."""


class Limits:
    """Every bucket and semaphore one worker process uses, keyed by provider account and project."""

    def __init__(
        self,
        *,
        google_user_per_minute: float = 600,
        google_project_per_minute: float = 10_000,
        graph_mailbox_per_10min: float = 10_000,
        graph_concurrency: int = 4,
        headroom: float = 0.97,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sleep = sleep
        """How a caller waits for a token: with a simulated ``clock``, a sleep that moves that clock."""
        self.google_user_per_minute = google_user_per_minute * headroom
        self.google_project_per_minute = google_project_per_minute * headroom
        self.graph_mailbox_per_10min = graph_mailbox_per_10min * headroom
        self.graph_concurrency = graph_concurrency
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self.project = TokenBucket(self.google_project_per_minute, 60.0, burst=50, clock=clock)

    def share_project(self, live_workers: int) -> None:
        """Split the per-project budget between the live worker processes."""
        self.project.set_rate(self.google_project_per_minute / max(1, live_workers), 60.0)

    def bucket(self, provider: str, account: str) -> TokenBucket:
        name = f"{provider}:{account}"
        with self._lock:
            bucket = self._buckets.get(name)
            if bucket is None:
                if provider == "google":
                    # burst + one minute of refill must stay within the 600/min sliding window (§1.8)
                    bucket = TokenBucket(self.google_user_per_minute, 60.0, burst=USER_BURST, clock=self.clock)
                else:
                    bucket = TokenBucket(self.graph_mailbox_per_10min, 600.0, burst=40, clock=self.clock)
                self._buckets[name] = bucket
            return bucket

    def concurrency(self, provider: str, account: str) -> threading.BoundedSemaphore:
        """Graph allows 4 requests in flight per mailbox; Google has no such cap (a generous one is used)."""
        name = f"{provider}:{account}"
        with self._lock:
            sem = self._semaphores.get(name)
            if sem is None:
                sem = threading.BoundedSemaphore(self.graph_concurrency if provider == "microsoft" else 16)
                self._semaphores[name] = sem
            return sem
