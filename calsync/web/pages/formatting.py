"""Template filters: times in the viewer's zone, in words a person reads at a glance."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment

from calsync.core.connection import reason_without_fix
from calsync.core.model import AllDaySpan, Event, RsvpStatus

NO_ANSWER = "No answer yet"
"""One term for "invited, not answered" everywhere (the API's ``needs_action``), whether or not a row exists."""
RSVP_WORDS = {
    RsvpStatus.NEEDS_ACTION: NO_ANSWER,
    RsvpStatus.ACCEPTED: "Accepted",
    RsvpStatus.TENTATIVE: "Tentative",
    RsvpStatus.DECLINED: "Declined",
}


def when(instant: dt.datetime | None, zone: str) -> str:
    """An instant as '<weekday> <day> <month> <year>, <HH:MM>' in ``zone``."""
    if instant is None:
        return "never"
    local = instant.astimezone(ZoneInfo(zone))
    return f"{local:%a %d %b %Y, %H:%M}"


def ago(instant: dt.datetime | None, now: dt.datetime) -> str:
    """'just now', '5 minutes ago', '3 hours ago', '2 days ago' (or 'never')."""
    if instant is None:
        return "never"
    seconds = max(0, int((now - instant).total_seconds()))
    if seconds < 60:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def event_when(event: Event, zone: str) -> str:
    """When an event happens, for a person in ``zone``: all-day events as dates (they are dates everywhere)."""
    span = event.span
    if isinstance(span, AllDaySpan):
        if span.start_date == span.end_date:
            return f"{span.start_date:%a %d %b %Y} (all day)"
        return f"{span.start_date:%a %d %b} to {span.end_date:%a %d %b %Y} (all day)"
    start = event.start_utc.astimezone(ZoneInfo(zone))
    end = event.end_utc.astimezone(ZoneInfo(zone))
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%a %d %b, %H:%M}"
    return f"{start:%a %d %b %Y, %H:%M} to {end_text}"


def event_when_local(event: Event) -> str:
    """When an event happens in its own zone (shown when that differs from the viewer's)."""
    return event_when(event, event.timezone)


def rsvp_words(status: RsvpStatus | None) -> str:
    return NO_ANSWER if status is None else RSVP_WORDS[status]


def datetime_local(value: dt.datetime | None) -> str:
    """The value of an ``<input type=datetime-local>``."""
    return "" if value is None else f"{value:%Y-%m-%dT%H:%M}"


def install(env: Environment) -> None:
    filters: dict[str, Any] = {
        "when": when,
        "ago": ago,
        "event_when": event_when,
        "event_when_local": event_when_local,
        "rsvp_words": rsvp_words,
        "datetime_local": datetime_local,
        "reason": reason_without_fix,
    }
    env.filters.update(filters)
