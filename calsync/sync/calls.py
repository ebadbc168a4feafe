"""Every provider call of one sync round goes through :class:`RoundCalls`.

It keeps the round inside the providers' limits (per-user/per-mailbox token buckets, Graph's 4 concurrent
requests, Google's per-project budget; :mod:`calsync.sync.limits`), refreshes the access token once when a
request is answered 401 (the token may have been revoked or expired early), and retries transient failures
(429, 5xx, timeouts) a bounded number of times with jittered exponential backoff, honouring ``Retry-After``.
Retrying is safe because every operation the engine sends is idempotent by construction: reads, conditional
updates, deletes that treat "gone" as done, and creates keyed by a deterministic iCalUID / transactionId
(design.md §7.6). A second 401, or an auth error at refresh, marks the connection in error and ends the round.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from calsync import metrics
from calsync.core.connection import Provider
from calsync.errors import ProviderAuthError, ProviderError, ProviderTransient
from calsync.sync.limits import Limits
from calsync.sync.tokens import TokenManager

T = TypeVar("T")

MAX_ATTEMPTS = 3
MAX_BACKOFF = 8.0


class RoundCalls:
    """Calls for one connection in one round: counts them, limits them, refreshes and retries."""

    def __init__(
        self,
        *,
        connection_id: int,
        provider: Provider,
        account: str,
        token: str,
        tokens: TokenManager,
        limits: Limits,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.connection_id = connection_id
        self.provider = provider
        self.account = account
        self.token = token
        self.tokens = tokens
        self.limits = limits
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.refreshed = False
        self._lock = threading.Lock()
        self.count = 0
        self.throttled = 0
        """429s (and rate-limit 403s) the provider answered during this round."""

    def __call__(self, fn: Callable[..., T], *args: object) -> T:
        return self.batch(fn, 1, *args)

    def batch(self, fn: Callable[..., T], units: int, *args: object) -> T:
        """One request that carries ``units`` calls (a provider batch): each counts against the quotas as if sent
        alone (provider-facts §1.7, §3.7), so ``units`` tokens are taken from every bucket before it goes."""
        provider = self.provider.value
        bucket = self.limits.bucket(provider, self.account)
        kind = getattr(fn, "__name__", "call")
        for attempt in range(MAX_ATTEMPTS):
            project_wait = user_wait = 0.0
            for _ in range(units):
                if self.provider is Provider.GOOGLE:
                    project_wait += self.limits.project.acquire(sleep=self.limits.sleep)
                user_wait += bucket.acquire(sleep=self.limits.sleep)
            if self.provider is Provider.GOOGLE:
                metrics.QUOTA_WAIT.labels(provider, "project").observe(project_wait)
            metrics.QUOTA_WAIT.labels(provider, "user").observe(user_wait)
            try:
                with self.limits.concurrency(provider, self.account):
                    with self._lock:
                        self.count += units
                        token = self.token
                    try:
                        result = fn(token, *args)
                    except ProviderError as exc:
                        metrics.PROVIDER_CALLS.labels(provider, kind, metrics.status_class(exc.status)).inc()
                        raise
                    metrics.PROVIDER_CALLS.labels(provider, kind, "2xx").inc()
                    return result
            except ProviderAuthError as exc:
                with self._lock:
                    retry = exc.status == 401 and (not self.refreshed or token != self.token)
                    if retry and token == self.token:
                        self.refreshed = True
                        self.token, _ = self.tokens.access_token(self.connection_id, force_refresh=True)
                if retry:
                    continue
                self.tokens.mark_auth_error(self.connection_id, exc)
                raise
            except ProviderTransient as exc:
                if exc.status in (429, 403) or exc.retry_after is not None:
                    with self._lock:
                        self.throttled += 1
                    metrics.THROTTLED.labels(provider).inc()
                    bucket.pause(exc.retry_after if exc.retry_after is not None else 1.0)
                if attempt == MAX_ATTEMPTS - 1:
                    raise
                base = exc.retry_after if exc.retry_after is not None else 0.25 * 2**attempt
                self.sleep(min(MAX_BACKOFF, base * (1.0 + self.rng.random() * 0.25)))
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
