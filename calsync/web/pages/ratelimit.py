"""Sign-in rate limiting: after 5 failed attempts for one email from one client address within 5 minutes, further
attempts are refused until the oldest of those failures is 5 minutes old.

Keyed by (email, client address) so an attacker guessing one person's password is slowed down without locking the
real person out from their own address, and one address trying many emails is limited per email. Refused
attempts do not check the password at all (so they cost no argon2 time and reveal nothing).

**In-process**: the counts live in this process's memory. With several web processes behind a load balancer each
has its own counts (an attacker gets 5 tries per process per window), and a restart forgets them. That is
acceptable for the demo and a single ``calsync serve``; a multi-process deployment should also rate-limit at the
proxy. The client address is what the ASGI server reports: behind a proxy, run uvicorn with
``--proxy-headers --forwarded-allow-ips`` so it is the person's address, not the proxy's.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import deque

MAX_FAILURES = 5
WINDOW = dt.timedelta(minutes=5)
MAX_KEYS = 10_000
"""Bound on remembered (email, address) pairs, so a flood of distinct emails cannot grow memory without limit."""


def too_many_message(wait: dt.timedelta) -> str:
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many sign-in attempts. Try again in {minutes} {unit}."


class LoginLimiter:
    """Failure timestamps per (email, client address), trimmed to the window on every use. Thread-safe."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: dt.timedelta = WINDOW) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[tuple[str, str], deque[dt.datetime]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(email: str, address: str) -> tuple[str, str]:
        return email.strip().lower(), address

    def _trim(self, key: tuple[str, str], now: dt.datetime) -> deque[dt.datetime] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, email: str, address: str, now: dt.datetime) -> dt.timedelta | None:
        """How long until another attempt is allowed, or None if one is allowed now."""
        with self._lock:
            times = self._trim(self.key(email, address), now)
            if times is None or len(times) < self.max_failures:
                return None
            return times[0] + self.window - now

    def failed(self, email: str, address: str, now: dt.datetime) -> None:
        with self._lock:
            key = self.key(email, address)
            self._trim(key, now)
            if key not in self._failures and len(self._failures) >= MAX_KEYS:
                for stale in list(self._failures)[: MAX_KEYS // 10]:
                    del self._failures[stale]
            self._failures.setdefault(key, deque(maxlen=self.max_failures)).append(now)

    def succeeded(self, email: str, address: str) -> None:
        with self._lock:
            self._failures.pop(self.key(email, address), None)
