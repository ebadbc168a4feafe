"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC instant on both backends.

    PostgreSQL stores ``timestamptz``; SQLite has no zone-aware type, so the value is stored as naive UTC text and
    re-labelled UTC on the way out. Naive values are refused on the way in: an instant without an offset is a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime; got a naive one")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


MAX_ID = 2**31 - 1


def storable_id(value: int) -> bool:
    """Whether ``value`` can be a primary key here (INTEGER on PostgreSQL is 32-bit): an id outside the range is
    simply not found, instead of a database error."""
    return 0 < value <= MAX_ID
