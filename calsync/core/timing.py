"""The shape of an event's timing: either wall-clock ``start``/``end`` or all-day ``start_date``/``end_date``.

Decides which fields a request must and must not carry, then hands over to :mod:`calsync.core.timezones` for the
zone arithmetic. Kept apart from the API's models so the CLI, the API and the demo share one set of messages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from calsync.core.model import AllDaySpan, TimedSpan
from calsync.core.timezones import resolve_all_day, resolve_timed
from calsync.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Timing:
    """A checked timing with the instants it covers (for ordering and "upcoming")."""

    span: TimedSpan | AllDaySpan
    start_utc: dt.datetime
    end_utc: dt.datetime

    @property
    def all_day(self) -> bool:
        return isinstance(self.span, AllDaySpan)


def resolve(
    *,
    all_day: bool,
    start: dt.datetime | None,
    end: dt.datetime | None,
    start_date: dt.date | None,
    end_date: dt.date | None,
    zone_name: str,
) -> Timing:
    """Check the fields against the event kind and resolve them in ``zone_name``.

    All-day events are dates with no times (a time would be meaningless and the providers reject it on a
    ``date``-only entry); ``end_date`` defaults to ``start_date`` (a one-day event).
    """
    if all_day:
        for name, value in (("start", start), ("end", end)):
            if value is not None:
                raise InvalidInput(
                    f"an all-day event has no times: remove '{name}' and give start_date and end_date "
                    "(dates like 2026-05-01; end_date is the last day, inclusive)",
                    field=name,
                )
        if start_date is None:
            raise InvalidInput("an all-day event needs start_date (a date like 2026-05-01)", field="start_date")
        span, start_utc, end_utc = resolve_all_day(start_date, end_date or start_date, zone_name)
        return Timing(span=span, start_utc=start_utc, end_utc=end_utc)
    for name, day in (("start_date", start_date), ("end_date", end_date)):
        if day is not None:
            raise InvalidInput(
                f"'{name}' is for all-day events: set all_day to true, or give start and end as wall-clock times "
                "(e.g. 2026-05-01T09:30:00)",
                field=name,
            )
    for name, value in (("start", start), ("end", end)):
        if value is None:
            raise InvalidInput(
                f"{name} is required: a wall-clock time like 2026-05-01T09:30:00 (or set all_day to true)",
                field=name,
            )
    assert start is not None and end is not None
    timed = resolve_timed(start, end, zone_name)
    return Timing(span=timed, start_utc=timed.start_utc, end_utc=timed.end_utc)
