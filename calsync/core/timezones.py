"""Time-zone rules: which zone an event is in, and how its wall-clock times become instants.

Events store wall-clock times plus an IANA zone (seeds, "Timezone issues"; design.md §2), because that is what
both providers take: Google ``start.dateTime`` + ``start.timeZone`` and Graph ``start.dateTime`` +
``start.timeZone`` (provider-facts.md). The UTC instants computed here are for ordering and "upcoming" queries;
they are recomputed whenever the wall-clock times or the zone change.

The rules, decided once here and documented in docs/api.md:

* A zone is an IANA name that :mod:`zoneinfo` (with the ``tzdata`` package) knows. Anything else is refused.
* An event without its own zone takes its organizer's zone *at creation*; the caller is told which applied
  (:class:`~calsync.core.model.TimezoneSource`).
* A wall-clock time that does not exist (it falls in a spring-forward gap, e.g. 02:30 on 2026-03-08 in
  America/New_York) is **refused** with a message naming the gap, instead of being silently moved.
* A wall-clock time that happens twice (a fall-back overlap, e.g. 01:30 on 2026-11-01 in America/New_York) means
  its **first** occurrence (PEP 495 ``fold=0``, the earlier instant, still on daylight time). How Google and Graph
  resolve an ambiguous wall-clock time given only a zone name is UNCONFIRMED (provider-facts.md §3.4 is silent),
  so the providers should be sent the instant we computed: Google ``dateTime`` with its offset next to
  ``timeZone`` (provider-facts.md: "an offset is required unless timeZone is set"; with both, the offset fixes
  the instant), Graph the UTC time.
* All-day events are dates, never times; ``end_date`` is inclusive and the providers' exclusive end is one day
  later (:attr:`~calsync.core.model.AllDaySpan.exclusive_end_date`).

Pure: no clock, no I/O beyond :mod:`zoneinfo` reading the zone database.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from calsync.core.model import AllDaySpan, TimedSpan, TimezoneSource
from calsync.errors import InvalidInput

UTC = dt.UTC
MIN_YEAR = 1900
MAX_YEAR = 2199


def zone(name: str, *, field: str = "timezone") -> ZoneInfo:
    """The :class:`ZoneInfo` for an IANA name, or :class:`InvalidInput` that says how to fix it."""
    cleaned = name.strip() if isinstance(name, str) else ""
    if not cleaned or cleaned != name or cleaned.startswith(("/", ".")) or ".." in cleaned:
        raise InvalidInput(_unknown_zone_message(name), field=field)
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidInput(_unknown_zone_message(name), field=field) from exc


def _unknown_zone_message(name: object) -> str:
    return f"{name!r} is not a known IANA time zone; use a name such as 'Europe/Berlin', 'America/New_York' or 'UTC'"


def validate_zone(name: str, *, field: str = "timezone") -> str:
    """Return ``name`` if it is a known IANA zone, else raise :class:`InvalidInput`."""
    zone(name, field=field)
    return name


def effective_zone(event_zone: str | None, organizer_zone: str) -> tuple[str, TimezoneSource]:
    """The zone an event's wall-clock times are in, and which rule chose it.

    The seeds: "If the event was created without a timezone, it defaults to the organizer's timezone". The caller
    stores the result, so a later change of the organizer's zone does not move the event.
    """
    if event_zone is not None:
        return validate_zone(event_zone), TimezoneSource.EVENT
    return validate_zone(organizer_zone, field="organizer.timezone"), TimezoneSource.ORGANIZER


def _check_wall(local: dt.datetime, field: str) -> None:
    if local.tzinfo is not None:
        raise InvalidInput(
            f"{field} must be a wall-clock time without a UTC offset (e.g. 2026-03-08T09:30:00); "
            "put the zone in 'timezone'",
            field=field,
        )
    if not MIN_YEAR <= local.year <= MAX_YEAR:
        raise InvalidInput(f"{field} must be between the years {MIN_YEAR} and {MAX_YEAR}", field=field)


def _gap(local: dt.datetime, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime] | None:
    """The spring-forward gap ``local`` falls in, as (first missing wall time, first wall time after), or None.

    PEP 495: inside a gap, ``fold=0`` uses the offset before the transition and ``fold=1`` the offset after.
    The transition instant T lies in ``(local - after, local - before]``; a binary search over whole seconds
    finds it, and the gap runs from ``T + before`` to ``T + after`` in wall-clock time.
    """
    aware = local.replace(tzinfo=tz, fold=0)
    back = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if back == local:
        return None
    before = aware.utcoffset()
    after = local.replace(tzinfo=tz, fold=1).utcoffset()
    assert before is not None and after is not None
    lo = local - after  # naive UTC, before the transition
    hi = local - before  # naive UTC, at or after the transition
    lo_s, hi_s = 0, int((hi - lo).total_seconds())
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        instant = (lo + dt.timedelta(seconds=mid)).replace(tzinfo=UTC)
        if instant.astimezone(tz).utcoffset() == after:
            hi_s = mid
        else:
            lo_s = mid
    transition = lo + dt.timedelta(seconds=hi_s)
    return transition + before, transition + after


def is_nonexistent(local: dt.datetime, zone_name: str) -> bool:
    """True if ``local`` falls in a spring-forward gap of ``zone_name``."""
    return _gap(local, zone(zone_name)) is not None


def is_ambiguous(local: dt.datetime, zone_name: str) -> bool:
    """True if ``local`` happens twice in ``zone_name`` (a fall-back overlap)."""
    tz = zone(zone_name)
    first = local.replace(tzinfo=tz, fold=0).utcoffset()
    second = local.replace(tzinfo=tz, fold=1).utcoffset()
    return first != second and _gap(local, tz) is None


def wall_to_utc(local: dt.datetime, zone_name: str, *, field: str = "start") -> dt.datetime:
    """The UTC instant of a wall-clock time in a zone (rules in the module docstring).

    Raises :class:`InvalidInput` for a time inside a spring-forward gap, naming the gap: the person meant
    *something*, and only they know whether that is 01:30 or 03:30.
    """
    _check_wall(local, field)
    tz = zone(zone_name)
    gap = _gap(local, tz)
    if gap is not None:
        start, end = gap
        shape = "%H:%M" if start.date() == end.date() else "%Y-%m-%d %H:%M"
        raise InvalidInput(
            f"{local:%H:%M} does not exist on {local:%Y-%m-%d} in {zone_name}: "
            f"clocks go from {start.strftime(shape)} to {end.strftime(shape)}; pick another time",
            field=field,
        )
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def utc_to_wall(instant: dt.datetime, zone_name: str) -> dt.datetime:
    """The naive wall-clock time of an aware instant in a zone."""
    if instant.tzinfo is None:
        raise InvalidInput("an instant needs a UTC offset (e.g. 2026-03-08T14:00:00Z)", field="from")
    return instant.astimezone(zone(zone_name)).replace(tzinfo=None)


def start_of_day_utc(day: dt.date, zone_name: str) -> dt.datetime:
    """The instant a date begins in a zone. Midnight can fall in a gap (e.g. America/Santiago): then the day
    begins when the clocks jump, the first wall-clock time that exists that day."""
    tz = zone(zone_name)
    local = dt.datetime.combine(day, dt.time())
    gap = _gap(local, tz)
    if gap is not None:
        local = gap[1]
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def resolve_timed(start: dt.datetime, end: dt.datetime, zone_name: str) -> TimedSpan:
    """Check a timed event's wall-clock start and end and compute their instants.

    ``end`` must come strictly after ``start`` as instants (zero-length events are refused: neither the seeds nor
    a person needs them, and an entry with no duration is easy to miss in a calendar).
    """
    start_utc = wall_to_utc(start, zone_name, field="start")
    end_utc = wall_to_utc(end, zone_name, field="end")
    if end_utc <= start_utc:
        raise InvalidInput(
            f"end ({end:%Y-%m-%d %H:%M}) must be after start ({start:%Y-%m-%d %H:%M}) in {zone_name}", field="end"
        )
    return TimedSpan(start_local=start, end_local=end, start_utc=start_utc, end_utc=end_utc)


def resolve_all_day(
    start_date: dt.date, end_date: dt.date, zone_name: str
) -> tuple[AllDaySpan, dt.datetime, dt.datetime]:
    """Check an all-day event's dates (``end_date`` inclusive) and compute the instants it covers in its zone.

    The instants (start of the first day, start of the day after the last) only order and filter events; the
    providers receive the dates themselves.
    """
    for name, value in (("start_date", start_date), ("end_date", end_date)):
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise InvalidInput(f"{name} must be between the years {MIN_YEAR} and {MAX_YEAR}", field=name)
    if end_date < start_date:
        raise InvalidInput(
            f"end_date ({end_date.isoformat()}) must be on or after start_date ({start_date.isoformat()}); "
            "end_date is the last day of the event, inclusive",
            field="end_date",
        )
    span = AllDaySpan(start_date=start_date, end_date=end_date)
    return span, start_of_day_utc(start_date, zone_name), start_of_day_utc(span.exclusive_end_date, zone_name)
