"""Outlook's per app + mailbox limits (provider-facts §3.7): 4 concurrent requests and 10,000 per 10 minutes.

Both answer 429 ``ApplicationThrottled`` with ``Retry-After`` (seconds). Concurrency is counted around the whole
request, including injected latency, so a slow sandbox really does run out of slots. The window reads the
sandbox clock, so advancing it drains the window.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable

from calsync.sandbox.microsoft.errors import GraphError
from calsync.sandbox.microsoft.state import Settings

Key = tuple[str, str]


class Throttle:
    def __init__(self, settings: Callable[[], Settings], monotonic: Callable[[], float]) -> None:
        self._settings = settings
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._inflight: dict[Key, int] = {}
        self._window: dict[Key, deque[float]] = {}

    def reset(self) -> None:
        with self._lock:
            self._inflight.clear()
            self._window.clear()

    def acquire(self, key: Key) -> None:
        """Take a slot for ``(client_id, account_id)`` or raise 429 with ``Retry-After``."""
        settings = self._settings()
        now = self._monotonic()
        with self._lock:
            stamps = self._window.setdefault(key, deque())
            horizon = now - settings.window_seconds
            while stamps and stamps[0] <= horizon:
                stamps.popleft()
            if len(stamps) >= settings.requests_per_window:
                wait = max(1, math.ceil(stamps[0] + settings.window_seconds - now))
                raise GraphError(
                    429, "ApplicationThrottled",
                    "Application is over its MailboxRequestRate limit: at most "
                    f"{settings.requests_per_window} requests per {settings.window_seconds:g} s per app and mailbox.",
                    headers={"retry-after": str(wait)},
                )
            if self._inflight.get(key, 0) >= settings.mailbox_concurrency:
                raise GraphError(
                    429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                    headers={"retry-after": "1"},
                )
            self._inflight[key] = self._inflight.get(key, 0) + 1
            stamps.append(now)

    def release(self, key: Key) -> None:
        with self._lock:
            left = self._inflight.get(key, 1) - 1
            if left <= 0:
                self._inflight.pop(key, None)
            else:
                self._inflight[key] = left
