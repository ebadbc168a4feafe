"""RSVPs: one per (event, person), with its own version and who set it last."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.core.model import Event, Rsvp, RsvpSource, RsvpStatus
from calsync.store.events import event_from_row
from calsync.store.models import EventRow, RsvpRow


def _rsvp(row: RsvpRow) -> Rsvp:
    return Rsvp(
        id=row.id,
        event_id=row.event_id,
        person_id=row.person_id,
        status=row.status,
        source=row.source,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class RsvpRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, event_id: int, person_id: int, *, for_update: bool = False) -> Rsvp | None:
        query = select(RsvpRow).where(RsvpRow.event_id == event_id, RsvpRow.person_id == person_id)
        if for_update:
            query = query.with_for_update()
        row = self.session.scalar(query)
        return None if row is None else _rsvp(row)

    def for_person_events(self, person_id: int, event_ids: Iterable[int]) -> dict[int, Rsvp]:
        """A person's RSVPs to several events at once, by event id."""
        ids = list(event_ids)
        if not ids:
            return {}
        query = select(RsvpRow).where(RsvpRow.person_id == person_id, RsvpRow.event_id.in_(ids))
        return {row.event_id: _rsvp(row) for row in self.session.scalars(query)}

    def add(self, event_id: int, person_id: int, status: RsvpStatus, source: RsvpSource, now: dt.datetime) -> Rsvp:
        row = RsvpRow(
            event_id=event_id,
            person_id=person_id,
            status=status,
            source=source,
            version=1,
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return _rsvp(row)

    def save(self, rsvp: Rsvp) -> Rsvp:
        row = self.session.get(RsvpRow, rsvp.id)
        assert row is not None
        row.status, row.source, row.version, row.updated_at = rsvp.status, rsvp.source, rsvp.version, rsvp.updated_at
        self.session.flush()
        return _rsvp(row)

    def for_event(self, event_id: int) -> list[Rsvp]:
        rows = self.session.scalars(select(RsvpRow).where(RsvpRow.event_id == event_id).order_by(RsvpRow.person_id))
        return [_rsvp(row) for row in rows]

    def people_with_rsvp(self, event_id: int) -> set[int]:
        return set(self.session.scalars(select(RsvpRow.person_id).where(RsvpRow.event_id == event_id)))

    def for_person(self, person_id: int, *, ending_after: dt.datetime | None) -> list[tuple[Rsvp, Event]]:
        """A person's RSVPs with their events, earliest event first (optionally only events not yet ended)."""
        query = (
            select(RsvpRow, EventRow)
            .join(EventRow, EventRow.id == RsvpRow.event_id)
            .where(RsvpRow.person_id == person_id)
        )
        if ending_after is not None:
            query = query.where(EventRow.end_utc > ending_after)
        query = query.order_by(EventRow.start_utc, EventRow.id)
        return [(_rsvp(r), event_from_row(e)) for r, e in self.session.execute(query)]
