"""Windows and IANA zone names in Graph's ``dateTimeTimeZone`` (provider-facts §3.4, §5).

Graph accepts "any of the time zones supported by Windows" plus IANA names; it answers in UTC unless the
request sends ``Prefer: outlook.timezone="..."``. The Windows -> IANA map is CLDR's ``windowsZones.xml`` as
shipped in ``tzlocal.windows_tz`` (§5). Which IANA names outside Microsoft's listed set Graph accepts is
UNCONFIRMED: the sandbox accepts every name ``zoneinfo`` knows (documented in docs/sandbox-microsoft.md).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win, win_tz

from calsync.sandbox.microsoft.errors import GraphError

UTC = dt.UTC
_FRACTION = re.compile(r"(\.\d+)")


@dataclass(frozen=True)
class Zone:
    """A resolved zone: the name as the client sent it, and the tzinfo it means."""

    name: str
    tz: dt.tzinfo


def _unsupported(name: str) -> GraphError:
    return GraphError(
        400,
        "TimeZoneNotSupportedException",
        f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{name}'. "
        "Use a Windows zone name (e.g. 'Pacific Standard Time') or an IANA name (e.g. 'America/Los_Angeles').",
    )


@functools.lru_cache(maxsize=1024)
def _lookup(name: str) -> dt.tzinfo | None:
    if name.upper() in ("UTC", "ETC/UTC", "GMT", "Z", "COORDINATED UNIVERSAL TIME"):
        return UTC
    iana = win_tz.get(name)
    if iana is None:
        # Windows names are matched case-insensitively by Exchange; CLDR spells them one way.
        lowered = name.lower()
        for win, target in win_tz.items():
            if win.lower() == lowered:
                iana = target
                break
    candidate = iana or name
    if "/" not in candidate and candidate not in ("UTC", "GMT"):
        return None
    try:
        return ZoneInfo(candidate)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def resolve(name: str | None) -> Zone:
    """The zone for a Windows or IANA name; 400 ``TimeZoneNotSupportedException`` for anything else."""
    if not name or not isinstance(name, str):
        raise _unsupported(str(name))
    tz = _lookup(name.strip())
    if tz is None:
        raise _unsupported(name)
    return Zone(name, tz)


def windows_name(iana: str) -> str | None:
    """The Windows name CLDR gives an IANA zone (for display and tests)."""
    return tz_win.get(iana)


def parse_local(value: object, field: str) -> dt.datetime:
    """Parse a ``dateTime`` string (up to 7 fractional digits, no offset expected) into a naive datetime."""
    if not isinstance(value, str) or not value:
        raise GraphError(400, "ErrorInvalidRequest", f"{field}.dateTime is required, e.g. '2024-05-01T09:00:00'.")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    match = _FRACTION.search(text)
    if match:
        digits = match.group(1)[1:]
        text = text[: match.start()] + "." + digits[:6].ljust(6, "0") + text[match.end() :]
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise GraphError(
            400, "ErrorInvalidRequest", f"{field}.dateTime '{value}' is not an ISO 8601 date-time."
        ) from None
    return parsed


def to_utc(local: dt.datetime, zone: Zone) -> dt.datetime:
    """An instant from a wall-clock time in ``zone`` (an offset in the string wins, as ISO 8601 says)."""
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    return local.replace(tzinfo=zone.tz).astimezone(UTC)


def format_local(value: dt.datetime) -> str:
    """Graph's shape: seven fractional digits, no offset ("2016-12-09T20:30:00.0000000")."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond:06d}0"


def format_in(instant: dt.datetime, zone: Zone) -> str:
    return format_local(instant.astimezone(zone.tz).replace(tzinfo=None))


def format_utc_stamp(instant: dt.datetime) -> str:
    """``createdDateTime`` style: UTC with seven fractional digits and ``Z``."""
    return format_local(instant.astimezone(UTC).replace(tzinfo=None)) + "Z"


def parse_query_instant(value: str, field: str) -> dt.datetime:
    """``startDateTime``/``endDateTime`` query values: ISO 8601, UTC unless an offset is given."""
    parsed = parse_local(value, field)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
