"""Time-zone rules: which zone an event is in, and how its wall-clock times become instants.

Events store wall-clock times plus an IANA zone (seeds, "Timezone issues"; design.md §2), because that is what
both providers take: Google ``start.dateTime`` + ``start.timeZone`` and Graph ``start.dateTime`` +
``start.timeZone`` (provider-facts.md). The UTC instants computed here are for ordering and "upcoming" queries;
they are recomputed whenever the wall-clock times or the zone change.

The rules, decided once here and documented in docs/api.md:

* A zone is an IANA name in the ``tzdata`` package's list of zones (:func:`accepted_zones`), spelt exactly.
  :mod:`zoneinfo` alone would also open pseudo-zones of the operating system's database (``localtime``,
  ``posixrules``, ``Factory``, the ``posix/`` and ``right/`` trees), which Graph refuses on every write
  (``TimeZoneNotSupportedException``): those are refused here, as are the few zones one of the providers cannot
  take (:data:`REFUSED`). The refusal names the obvious valid zone when there is one (:func:`suggest`: the zone
  inside ``posix/…``, the right case, ``_`` for a space, a one-letter typo). Every accepted zone reaches both
  providers: ``tests/providers/test_every_zone.py`` writes an entry in each one to both sandboxes.
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
import difflib
import functools
import importlib.resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from calsync.core.model import AllDaySpan, TimedSpan, TimezoneSource
from calsync.errors import InvalidInput

UTC = dt.UTC
MIN_YEAR = 1900
MAX_YEAR = 2199


EXAMPLES = "use a name such as 'Europe/Berlin', 'America/New_York' or 'UTC'"

REFUSED: dict[str, str] = {
    "Factory": "a placeholder of the zone database, not a time zone",
    "CST6CDT": "an old POSIX-style name with no Windows equivalent for Outlook; use 'America/Chicago'",
    "EST5EDT": "an old POSIX-style name with no Windows equivalent for Outlook; use 'America/New_York'",
    "MST7MDT": "an old POSIX-style name with no Windows equivalent for Outlook; use 'America/Denver'",
    "PST8PDT": "an old POSIX-style name with no Windows equivalent for Outlook; use 'America/Los_Angeles'",
    "Antarctica/Troll": "a zone Outlook has no equivalent for (UTC+0 in winter, UTC+2 in summer); use 'UTC'",
}
"""Names in the tzdata list that are refused anyway, and why (the reason is the message)."""

PSEUDO = ("localtime", "posixrules")
"""Files of an operating system's zone directory that :mod:`zoneinfo` opens but that are not zones."""


@functools.cache
def accepted_zones() -> frozenset[str]:
    """Every zone name calsync accepts: the tzdata package's list of zones, less :data:`REFUSED`.

    tzdata's list, not :func:`zoneinfo.available_timezones`, which also walks the machine's zone directory
    (``posix/``, ``right/``, ``localtime``): the accepted set is the same on every machine.
    """
    listed = importlib.resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    return frozenset(name for name in listed if name not in REFUSED)


@functools.cache
def _links() -> dict[str, str]:
    """tzdata's links (an alias -> the zone it names), from the compact source ``tzdata.zi`` the package ships."""
    source = importlib.resources.files("tzdata").joinpath("zoneinfo", "tzdata.zi").read_text(encoding="utf-8")
    links: dict[str, str] = {}
    for line in source.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "L":
            links[parts[2]] = parts[1]
    return links


def canonical(name: str) -> str:
    """The zone an alias names (``US/Eastern`` -> ``America/New_York``); a canonical name is returned as is."""
    links = _links()
    seen = {name}
    while name in links and links[name] not in seen:
        name = links[name]
        seen.add(name)
    return name


@functools.cache
def _by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in accepted_zones()}


def suggest(name: str) -> str | None:
    """The accepted zone ``name`` obviously meant, or None: surrounding spaces, the zone inside ``posix/`` or
    ``right/``, another case, a space for ``_``, or one close spelling (a typo such as 'Europe/Berln')."""
    accepted = accepted_zones()
    cleaned = name.strip().strip("/")
    for tree in ("posix/", "right/", "zoneinfo/"):
        if cleaned.casefold().startswith(tree):
            cleaned = cleaned[len(tree) :]
    for candidate in (cleaned, cleaned.replace(" ", "_")):
        if candidate in accepted:
            return candidate
        folded = _by_folded_name().get(candidate.casefold())
        if folded is not None:
            return folded
    close = difflib.get_close_matches(cleaned, accepted, n=2, cutoff=0.9)
    return close[0] if len(close) == 1 else None


def zone(name: str, *, field: str = "timezone") -> ZoneInfo:
    """The :class:`ZoneInfo` for an accepted IANA name, or :class:`InvalidInput` that says how to fix it."""
    if isinstance(name, str) and name in accepted_zones():
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # pragma: no cover - tzdata is a dependency
            raise InvalidInput(_unknown_zone_message(name), field=field) from exc
    raise InvalidInput(_unknown_zone_message(name), field=field)


def _unknown_zone_message(name: object) -> str:
    if not isinstance(name, str):
        return f"{name!r} is not a known IANA time zone; {EXAMPLES}"
    shown = repr(name)
    if name in REFUSED:
        return f"{shown} is not accepted: it is {REFUSED[name]}"
    if name.strip() in PSEUDO:
        return f"{shown} is not a known IANA time zone (it is a file of the system's zone database); {EXAMPLES}"
    found = suggest(name) if len(name) <= 200 else None
    if found is not None:
        return f"{shown} is not a known IANA time zone; did you mean '{found}'?"
    return f"{shown} is not a known IANA time zone; {EXAMPLES}"


def validate_zone(name: str, *, field: str = "timezone") -> str:
    """Return ``name`` if it is an accepted IANA zone, else raise :class:`InvalidInput`."""
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
