"""What every service operation needs: the database, a clock (core never reads the time itself) and the password
hasher at the configured cost."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from calsync.services.passwords import Passwords
from calsync.store.db import Database

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    """Now, as an aware UTC instant."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class ServiceContext:
    """Passed as the first argument of every service function. Tests give a fixed clock and cheap passwords."""

    db: Database
    clock: Clock = field(default=system_clock)
    passwords: Passwords = field(default_factory=Passwords)

    def now(self) -> dt.datetime:
        value = self.clock()
        if value.tzinfo is None:
            raise ValueError("the clock must return aware UTC datetimes")
        return value.astimezone(dt.UTC)
