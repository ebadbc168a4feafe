"""The sandbox's clock: real time plus an offset that tests and the admin API can move forward.

Token lifetimes, channel and subscription expiry and quota windows all read this clock, so a test can make a
week pass in a millisecond ("shorten lifetimes" and "expire" faults are built on it).
"""

from __future__ import annotations

import datetime as dt
import time


class Clock:
    """Wall-clock seconds since the epoch, shifted by :meth:`advance`."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """Seconds since the epoch, as the sandbox sees them."""
        return time.time() + self._offset

    def now_dt(self) -> dt.datetime:
        """The sandbox's current time as an aware UTC datetime."""
        return dt.datetime.fromtimestamp(self.now(), dt.UTC)

    def monotonic(self) -> float:
        """A monotonic reading that also moves with :meth:`advance` (for sliding quota windows)."""
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the sandbox's time forward (never backward: providers' clocks do not go back)."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._offset += seconds
