"""The sandbox's clock: real time plus an offset, or simulated time only; both move forward on :meth:`advance`.

Token lifetimes, channel and subscription expiry and quota windows all read this clock, so a test can make a
week pass in a millisecond ("shorten lifetimes" and "expire" faults are built on it). The simulation starts it at a
fixed instant (``Clock(start=...)``): then no wall clock is read at all, and a seed replays the same whatever the
day or the machine's speed (docs/simulation.md).
"""

from __future__ import annotations

import datetime as dt
import threading
import time


class Clock:
    """Seconds since the epoch: wall-clock time shifted by :meth:`advance`, or, given ``start``, simulated time
    that only :meth:`advance` moves."""

    def __init__(self, start: float | None = None) -> None:
        self._offset = 0.0
        self._start = start
        self._lock = threading.Lock()

    @property
    def simulated(self) -> bool:
        return self._start is not None

    def now(self) -> float:
        """Seconds since the epoch, as the sandbox sees them."""
        if self._start is not None:
            return self._start + self._offset
        return time.time() + self._offset

    def now_dt(self) -> dt.datetime:
        """The sandbox's current time as an aware UTC datetime."""
        return dt.datetime.fromtimestamp(self.now(), dt.UTC)

    def __call__(self) -> dt.datetime:
        """The same as :meth:`now_dt`: a Clock can be handed to calsync as its clock (``ServiceContext.clock``)."""
        return self.now_dt()

    def monotonic(self) -> float:
        """A monotonic reading that also moves with :meth:`advance` (for sliding quota windows)."""
        if self._start is not None:
            return self._start + self._offset
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the sandbox's time forward (never backward: providers' clocks do not go back)."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += seconds

    def sleep(self, seconds: float) -> None:
        """A sleep on this clock: simulated time passes at once; on the wall clock it really waits."""
        if self._start is not None:
            self.advance(max(0.0, seconds))
        else:
            time.sleep(max(0.0, seconds))
