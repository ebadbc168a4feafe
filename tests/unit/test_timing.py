"""The shape rules of calsync.core.timing: timed events take start/end, all-day events take dates and no times."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from calsync.core.model import AllDaySpan, TimedSpan
from calsync.core.timing import resolve
from calsync.errors import InvalidInput

D1, D2 = dt.date(2026, 5, 1), dt.date(2026, 5, 3)
T1, T2 = dt.datetime(2026, 5, 1, 9, 0), dt.datetime(2026, 5, 1, 10, 0)


def _resolve(**kwargs: Any) -> Any:
    base: dict[str, Any] = {"all_day": False, "start": None, "end": None, "start_date": None, "end_date": None}
    base.update(kwargs)
    return resolve(zone_name="Europe/Berlin", **base)


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"all_day": True, "start": T1, "start_date": D1}, "start", "an all-day event has no times"),
        ({"all_day": True, "end": T2, "start_date": D1}, "end", "an all-day event has no times"),
        ({"all_day": True}, "start_date", "needs start_date"),
        ({"all_day": False, "start_date": D1, "start": T1, "end": T2}, "start_date", "set all_day to true"),
        ({"all_day": False, "end_date": D1, "start": T1, "end": T2}, "end_date", "set all_day to true"),
        ({"all_day": False, "end": T2}, "start", "start is required"),
        ({"all_day": False, "start": T1}, "end", "end is required"),
        ({"all_day": True, "start_date": D2, "end_date": D1}, "end_date", "on or after start_date"),
        ({"all_day": False, "start": T2, "end": T1}, "end", "must be after start"),
    ],
)
def test_wrong_shapes_are_refused_naming_the_field(kwargs: dict[str, Any], field: str, words: str) -> None:
    """Each wrong combination of timing fields is refused on the right field with a message that says what to do."""
    with pytest.raises(InvalidInput) as err:
        _resolve(**kwargs)
    assert err.value.field == field
    assert words in err.value.message


def test_all_day_end_date_defaults_to_start_date() -> None:
    """An all-day event given only its first day lasts that one day."""
    timing = _resolve(all_day=True, start_date=D1)
    assert timing.all_day and timing.span == AllDaySpan(D1, D1)


def test_timed_event_resolves_to_its_instants() -> None:
    """A timed event keeps its wall-clock times and gets the instants they mean in its zone."""
    timing = _resolve(start=T1, end=T2)
    assert isinstance(timing.span, TimedSpan) and not timing.all_day
    assert timing.start_utc == dt.datetime(2026, 5, 1, 7, 0, tzinfo=dt.UTC)
