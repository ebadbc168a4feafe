"""Events: rows to :class:`~calsync.core.model.Event` values and back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.core.model import AllDaySpan, Event, EventStatus, TimedSpan, TimezoneSource
from calsync.store.models import EventRow
from calsync.store.types import storable_id


def event_from_row(row: EventRow) -> Event:
    span: TimedSpan | AllDaySpan
    if row.all_day:
        assert row.start_date is not None and row.end_date is not None
        span = AllDaySpan(start_date=row.start_date, end_date=row.end_date)
    else:
        assert row.start_local is not None and row.end_local is not None
        span = TimedSpan(
            start_local=row.start_local, end_local=row.end_local, start_utc=row.start_utc, end_utc=row.end_utc
        )
    return Event(
        id=row.id,
        organization_id=row.organization_id,
        organizer_id=row.organizer_id,
        title=row.title,
        description=row.description,
        location=row.location,
        timezone=row.timezone,
        timezone_source=row.timezone_source,
        all_day=row.all_day,
        span=span,
        start_utc=row.start_utc,
        end_utc=row.end_utc,
        status=row.status,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _apply(row: EventRow, event: Event) -> None:
    row.title = event.title
    row.description = event.description
    row.location = event.location
    row.timezone = event.timezone
    row.timezone_source = event.timezone_source
    row.all_day = event.all_day
    row.start_utc = event.start_utc
    row.end_utc = event.end_utc
    row.status = event.status
    row.version = event.version
    row.updated_at = event.updated_at
    if isinstance(event.span, AllDaySpan):
        row.start_date, row.end_date = event.span.start_date, event.span.end_date
        row.start_local = row.end_local = None
    else:
        row.start_local, row.end_local = event.span.start_local, event.span.end_local
        row.start_date = row.end_date = None


class EventRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        *,
        organization_id: int,
        organizer_id: int,
        title: str,
        description: str,
        location: str,
        timezone: str,
        timezone_source: TimezoneSource,
        span: TimedSpan | AllDaySpan,
        start_utc: dt.datetime,
        end_utc: dt.datetime,
        now: dt.datetime,
    ) -> Event:
        row = EventRow(organization_id=organization_id, organizer_id=organizer_id, created_at=now)
        _apply(
            row,
            Event(
                id=0,
                organization_id=organization_id,
                organizer_id=organizer_id,
                title=title,
                description=description,
                location=location,
                timezone=timezone,
                timezone_source=timezone_source,
                all_day=isinstance(span, AllDaySpan),
                span=span,
                start_utc=start_utc,
                end_utc=end_utc,
                status=EventStatus.SCHEDULED,
                version=1,
                created_at=now,
                updated_at=now,
            ),
        )
        self.session.add(row)
        self.session.flush()
        return event_from_row(row)

    def get(self, organization_id: int, event_id: int, *, for_update: bool = False) -> Event | None:
        """The event if it belongs to ``organization_id`` (else None: another organization's event is not found).

        ``for_update`` locks the row (PostgreSQL ``FOR UPDATE``) so concurrent edits serialize and no version bump is
        lost; SQLite's write transactions are already exclusive (``BEGIN IMMEDIATE``).
        """
        if not storable_id(event_id):
            return None
        row = self.session.get(EventRow, event_id, with_for_update=for_update)
        return None if row is None or row.organization_id != organization_id else event_from_row(row)

    def many(self, organization_id: int, event_ids: Iterable[int]) -> dict[int, Event]:
        """Several events of the organization at once (a sync round reads every entry's event in one query)."""
        ids = [i for i in event_ids if storable_id(i)]
        if not ids:
            return {}
        query = select(EventRow).where(EventRow.organization_id == organization_id, EventRow.id.in_(ids))
        return {row.id: event_from_row(row) for row in self.session.scalars(query)}

    def save(self, event: Event) -> Event:
        """Write every mutable field of ``event`` (the service has already bumped its version)."""
        row = self.session.get(EventRow, event.id)
        assert row is not None
        _apply(row, event)
        self.session.flush()
        return event_from_row(row)

    def upcoming(self, organization_id: int, after: dt.datetime, *, include_cancelled: bool, limit: int) -> list[Event]:
        """Events of the organization that have not ended at ``after``, earliest first."""
        query = select(EventRow).where(EventRow.organization_id == organization_id, EventRow.end_utc > after)
        if not include_cancelled:
            query = query.where(EventRow.status == EventStatus.SCHEDULED)
        query = query.order_by(EventRow.start_utc, EventRow.id).limit(limit)
        return [event_from_row(row) for row in self.session.scalars(query)]
