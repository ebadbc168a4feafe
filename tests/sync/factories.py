"""Small builders for core values used by the sync tests (pure data, no store)."""

from __future__ import annotations

import datetime as dt

from calsync.core.entry import EntryContent, RenderContext, entry_key, render
from calsync.core.model import Event, EventStatus, RsvpStatus, TimedSpan, TimezoneSource
from calsync.core.plan import Renderer

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
INSTALL = "inst1"
CONN = 7


def event(
    event_id: int = 1,
    *,
    title: str = "Launch party",
    status: EventStatus = EventStatus.SCHEDULED,
    version: int = 1,
    hour: int = 18,
) -> Event:
    start = dt.datetime(2026, 12, 10, hour, 0)
    end = start + dt.timedelta(hours=2)
    span = TimedSpan(start, end, start.replace(tzinfo=dt.UTC), end.replace(tzinfo=dt.UTC))
    return Event(
        id=event_id,
        organization_id=1,
        organizer_id=1,
        title=title,
        description="Bring friends",
        location="Hall A",
        timezone="Europe/Berlin",
        timezone_source=TimezoneSource.EVENT,
        all_day=False,
        span=span,
        start_utc=span.start_utc,
        end_utc=span.end_utc,
        status=status,
        version=version,
        created_at=T0,
        updated_at=T0,
    )


def ctx() -> RenderContext:
    return RenderContext(
        INSTALL, CONN, "ann@example.com", "Olga Organizer", "olga@juno.example", "https://calsync.example/events/1"
    )


def renderer(ev: Event) -> Renderer:
    c = ctx()

    def render_for(status: RsvpStatus | None) -> EntryContent | None:
        return render(ev, status, c)

    return render_for


def key(event_id: int = 1) -> str:
    return entry_key(INSTALL, CONN, event_id)
