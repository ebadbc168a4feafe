"""The time-zone rules of calsync.core.timezones: zones, the organizer default, DST gaps and overlaps, all-day dates."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calsync.core import timezones as tz
from calsync.core.model import AllDaySpan, TimezoneSource
from calsync.errors import InvalidInput

UTC = dt.UTC


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"])
def test_known_zones_are_accepted(name: str) -> None:
    """Real IANA names pass validation unchanged."""
    assert tz.validate_zone(name) == name


@pytest.mark.parametrize(
    "name",
    ["Mars/Olympus_Mons", "", " Europe/Berlin", "Europe/Berlin ", "../../etc/passwd", "/etc/localtime", "+02:00"],
)
def test_unknown_zones_are_refused_with_a_hint(name: str) -> None:
    """Anything that is not an IANA name is refused, naming the field and giving examples."""
    with pytest.raises(InvalidInput) as err:
        tz.validate_zone(name)
    assert err.value.field == "timezone"
    assert "not a known IANA time zone" in err.value.message and "Europe/Berlin" in err.value.message


@pytest.mark.parametrize(
    ("event_zone", "organizer_zone", "expected"),
    [
        ("Asia/Tokyo", "Europe/Berlin", ("Asia/Tokyo", TimezoneSource.EVENT)),
        (None, "Europe/Berlin", ("Europe/Berlin", TimezoneSource.ORGANIZER)),
        ("UTC", "America/New_York", ("UTC", TimezoneSource.EVENT)),
    ],
)
def test_effective_zone_prefers_the_event_then_the_organizer(
    event_zone: str | None, organizer_zone: str, expected: tuple[str, TimezoneSource]
) -> None:
    """The event's own zone wins; without one the organizer's applies, and the result says which."""
    assert tz.effective_zone(event_zone, organizer_zone) == expected


def test_effective_zone_refuses_an_unknown_event_zone() -> None:
    """An unknown event zone is an error, not a silent fallback to the organizer's."""
    with pytest.raises(InvalidInput):
        tz.effective_zone("Nowhere/Land", "Europe/Berlin")


def test_spring_forward_gap_is_refused_with_the_documented_message() -> None:
    """02:30 on the 2026 spring-forward day in New York does not exist, and the message says exactly that."""
    with pytest.raises(InvalidInput) as err:
        tz.wall_to_utc(dt.datetime(2026, 3, 8, 2, 30), "America/New_York")
    assert err.value.message == (
        "02:30 does not exist on 2026-03-08 in America/New_York: clocks go from 02:00 to 03:00; pick another time"
    )
    assert err.value.field == "start"


@pytest.mark.parametrize(
    ("local", "zone", "gap"),
    [
        (dt.datetime(2026, 3, 8, 2, 0), "America/New_York", "from 02:00 to 03:00"),
        (dt.datetime(2026, 3, 8, 2, 59), "America/New_York", "from 02:00 to 03:00"),
        (dt.datetime(2026, 3, 29, 2, 30), "Europe/Berlin", "from 02:00 to 03:00"),
        (dt.datetime(2026, 3, 29, 1, 30), "Europe/London", "from 01:00 to 02:00"),
        (dt.datetime(2026, 10, 4, 2, 15), "Australia/Lord_Howe", "from 02:00 to 02:30"),
        (dt.datetime(2026, 9, 6, 0, 0), "America/Santiago", "from 00:00 to 01:00"),
        (dt.datetime(2011, 12, 30, 12, 0), "Pacific/Apia", "from 2011-12-30 00:00 to 2011-12-31 00:00"),
    ],
)
def test_times_inside_gaps_are_refused_naming_the_gap(local: dt.datetime, zone: str, gap: str) -> None:
    """Every zone's gap (one hour, half an hour, midnight, a whole skipped day) is refused and described."""
    assert tz.is_nonexistent(local, zone)
    with pytest.raises(InvalidInput) as err:
        tz.wall_to_utc(local, zone)
    assert f"clocks go {gap}; pick another time" in err.value.message


@pytest.mark.parametrize(
    ("local", "zone", "expected_utc"),
    [
        (dt.datetime(2026, 3, 8, 1, 59), "America/New_York", dt.datetime(2026, 3, 8, 6, 59, tzinfo=UTC)),
        (dt.datetime(2026, 3, 8, 3, 0), "America/New_York", dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
        (dt.datetime(2026, 7, 1, 9, 0), "Europe/Berlin", dt.datetime(2026, 7, 1, 7, 0, tzinfo=UTC)),
        (dt.datetime(2026, 1, 1, 9, 0), "Europe/Berlin", dt.datetime(2026, 1, 1, 8, 0, tzinfo=UTC)),
        (dt.datetime(2026, 5, 1, 9, 0), "Asia/Kolkata", dt.datetime(2026, 5, 1, 3, 30, tzinfo=UTC)),
        (dt.datetime(2026, 5, 1, 9, 0), "UTC", dt.datetime(2026, 5, 1, 9, 0, tzinfo=UTC)),
    ],
)
def test_ordinary_times_convert(local: dt.datetime, zone: str, expected_utc: dt.datetime) -> None:
    """Times on either side of a gap, and in zones with odd offsets, convert to the expected instant."""
    assert tz.wall_to_utc(local, zone) == expected_utc


@pytest.mark.parametrize(
    ("local", "zone", "first_utc"),
    [
        (dt.datetime(2026, 11, 1, 1, 30), "America/New_York", dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
        (dt.datetime(2026, 10, 25, 2, 30), "Europe/Berlin", dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        (dt.datetime(2026, 4, 5, 1, 45), "Australia/Lord_Howe", dt.datetime(2026, 4, 4, 14, 45, tzinfo=UTC)),
    ],
)
def test_ambiguous_times_take_the_first_occurrence(local: dt.datetime, zone: str, first_utc: dt.datetime) -> None:
    """A fall-back time that happens twice resolves to its first (earlier, daylight-time) occurrence."""
    assert tz.is_ambiguous(local, zone)
    assert tz.wall_to_utc(local, zone) == first_utc


def test_wall_clock_times_with_an_offset_are_refused() -> None:
    """A start with a UTC offset is ambiguous about which zone rules apply, so it is refused with the fix."""
    with pytest.raises(InvalidInput) as err:
        tz.wall_to_utc(dt.datetime(2026, 5, 1, 9, 0, tzinfo=UTC), "Europe/Berlin", field="end")
    assert err.value.field == "end" and "without a UTC offset" in err.value.message


@pytest.mark.parametrize("year", [1, 1899, 2200, 9999])
def test_years_out_of_range_are_refused(year: int) -> None:
    """Years far outside any calendar's use are refused before they can overflow a conversion."""
    with pytest.raises(InvalidInput, match="between the years"):
        tz.wall_to_utc(dt.datetime(year, 6, 1, 12, 0), "Europe/Berlin")


def test_timed_end_must_follow_start() -> None:
    """An end at or before the start is refused on the end field."""
    with pytest.raises(InvalidInput) as err:
        tz.resolve_timed(dt.datetime(2026, 5, 1, 10), dt.datetime(2026, 5, 1, 9), "Europe/Berlin")
    assert err.value.field == "end" and "must be after start" in err.value.message
    with pytest.raises(InvalidInput):
        tz.resolve_timed(dt.datetime(2026, 5, 1, 10), dt.datetime(2026, 5, 1, 10), "Europe/Berlin")


def test_timed_span_across_spring_forward_is_one_hour_shorter_in_utc() -> None:
    """01:00 to 04:00 on a spring-forward night lasts two real hours."""
    span = tz.resolve_timed(dt.datetime(2026, 3, 8, 1), dt.datetime(2026, 3, 8, 4), "America/New_York")
    assert span.end_utc - span.start_utc == dt.timedelta(hours=2)


def test_end_before_start_in_the_repeated_hour_is_refused() -> None:
    """Within the repeated fall-back hour both ends take the first occurrence, so 01:45 to 01:15 is refused."""
    with pytest.raises(InvalidInput):
        tz.resolve_timed(dt.datetime(2026, 11, 1, 1, 45), dt.datetime(2026, 11, 1, 1, 15), "America/New_York")


def test_all_day_end_is_inclusive_and_exclusive_end_is_one_day_later() -> None:
    """A two-day all-day event keeps its inclusive end date and offers the providers' exclusive one."""
    span, start_utc, end_utc = tz.resolve_all_day(dt.date(2026, 5, 1), dt.date(2026, 5, 2), "Europe/Berlin")
    assert span == AllDaySpan(dt.date(2026, 5, 1), dt.date(2026, 5, 2))
    assert span.exclusive_end_date == dt.date(2026, 5, 3)
    assert start_utc == dt.datetime(2026, 4, 30, 22, 0, tzinfo=UTC)
    assert end_utc == dt.datetime(2026, 5, 2, 22, 0, tzinfo=UTC)


def test_all_day_end_before_start_is_refused() -> None:
    """An all-day event cannot end before it starts; a one-day event has end_date == start_date."""
    with pytest.raises(InvalidInput) as err:
        tz.resolve_all_day(dt.date(2026, 5, 2), dt.date(2026, 5, 1), "UTC")
    assert err.value.field == "end_date" and "inclusive" in err.value.message
    span, _, _ = tz.resolve_all_day(dt.date(2026, 5, 2), dt.date(2026, 5, 2), "UTC")
    assert span.exclusive_end_date == dt.date(2026, 5, 3)


def test_a_day_whose_midnight_is_skipped_starts_when_the_clocks_jump() -> None:
    """In Santiago the spring-forward happens at midnight, so that day begins at 01:00 local."""
    assert tz.start_of_day_utc(dt.date(2026, 9, 6), "America/Santiago") == dt.datetime(2026, 9, 6, 4, 0, tzinfo=UTC)


ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata", "UTC"]


@settings(max_examples=300, deadline=None)
@given(
    instant=st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(UTC)),
    zone=st.sampled_from(ZONES),
)
def test_utc_to_wall_and_back_is_the_same_instant_unless_it_is_the_second_occurrence(
    instant: dt.datetime, zone: str
) -> None:
    """Any instant's wall-clock time converts back to it, except the repeated hour's second pass, which maps to the
    first occurrence one offset change earlier."""
    wall = tz.utc_to_wall(instant, zone)
    back = tz.wall_to_utc(wall, zone)
    if back != instant:
        assert tz.is_ambiguous(wall, zone)
        assert back < instant
        assert tz.utc_to_wall(back, zone) == wall


@settings(max_examples=300, deadline=None)
@given(
    local=st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1)),
    zone=st.sampled_from(ZONES),
)
def test_every_wall_time_either_converts_faithfully_or_is_refused_as_a_gap(local: dt.datetime, zone: str) -> None:
    """A wall time is either in a gap (refused) or converts to an instant that shows the same wall time."""
    try:
        instant = tz.wall_to_utc(local, zone)
    except InvalidInput as err:
        assert tz.is_nonexistent(local, zone)
        assert "does not exist" in err.message
    else:
        assert tz.utc_to_wall(instant, zone) == local
