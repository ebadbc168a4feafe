"""RFC3339 instants and Calendar's EventDateTime (provider-facts §1.2, §1.4).

``start``/``end`` carry either ``date`` (all-day; ``end`` exclusive) or ``dateTime`` (RFC3339; the offset may be
left out only when ``timeZone`` names an IANA zone). ``timeMin``/``timeMax`` must carry an offset.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from calsync.sandbox.google.errors import bad_request, required, time_range_empty


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo | None:
    """The IANA zone called ``name``, or None when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse_instant(value: str, param: str) -> dt.datetime:
    """An RFC3339 timestamp with a mandatory offset (timeMin, timeMax, updatedMin)."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise bad_request(f"Bad Request: {param} must be an RFC3339 timestamp, got {value!r}.",
                          location=param) from None
    if parsed.tzinfo is None:
        raise bad_request(f"Bad Request: {param} needs a time zone offset, e.g. 2024-01-01T00:00:00Z.",
                          location=param)
    return parsed


def rfc3339(ts: float) -> str:
    """Google's ``updated``/``created`` format: UTC with milliseconds and ``Z``."""
    d = dt.datetime.fromtimestamp(ts, dt.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class When:
    """A normalized EventDateTime and the instant it starts at (all-day dates start at midnight in ``tz``)."""

    value: dict[str, Any]
    ts: float
    all_day: bool


def event_time(raw: Any, which: str, calendar_tz: str) -> When:
    """Validate and normalize ``start`` or ``end`` (§1.2); errors name the field so the caller can fix it."""
    if not isinstance(raw, dict) or not (raw.get("date") or raw.get("dateTime")):
        raise required(f"Missing {which} time.")
    tz_name = raw.get("timeZone")
    tz: dt.tzinfo | None = None
    if tz_name is not None:
        tz = zone(str(tz_name)) if isinstance(tz_name, str) else None
        if tz is None:
            raise bad_request(f"Invalid time zone definition for {which} time.")
    if raw.get("date") and raw.get("dateTime"):
        raise bad_request(f"Invalid {which} time: give either date or dateTime, not both.")
    value: dict[str, Any] = {}
    if raw.get("date"):
        try:
            day = dt.date.fromisoformat(str(raw["date"]))
        except ValueError:
            raise bad_request(f"Invalid {which} time: date must be yyyy-mm-dd.") from None
        local = tz or zone(calendar_tz) or dt.UTC
        ts = dt.datetime.combine(day, dt.time(), local).timestamp()
        value["date"] = day.isoformat()
        if tz_name:
            value["timeZone"] = tz_name
        return When(value, ts, True)
    text = str(raw["dateTime"])
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f"Invalid {which} time: dateTime must be RFC3339, got {text!r}.") from None
    if moment.tzinfo is None:
        if tz is None:
            raise bad_request(f"Missing time zone definition for {which} time.")
        moment = moment.replace(tzinfo=tz)
        text = moment.isoformat()
    elif tz is not None:
        text = moment.astimezone(tz).isoformat()
    value["dateTime"] = text
    if tz_name:
        value["timeZone"] = tz_name
    return When(value, moment.timestamp(), False)


def event_span(body: dict[str, Any], calendar_tz: str) -> tuple[When, When]:
    """Start and end, checked together: same kind, and not an empty range (§1.2; message from §1.6)."""
    start = event_time(body.get("start"), "start", calendar_tz)
    end = event_time(body.get("end"), "end", calendar_tz)
    if start.all_day != end.all_day:
        raise bad_request("Invalid end time: start and end must both be dates or both be dateTimes.")
    if end.ts < start.ts or (start.all_day and end.ts <= start.ts):
        raise time_range_empty("end")
    return start, end

