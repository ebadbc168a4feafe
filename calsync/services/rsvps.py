"""RSVPs: answer an event, read my answer, my RSVPs, an event's RSVPs. Each operation is one unit of work.

The four states are the seeds' (needs action, accepted, tentative, declined). A person answers with accepted,
tentative or declined; ``needs_action`` only comes from an invitation. Any person of the organization may answer
any scheduled event of it (answering without an invitation creates the RSVP): the seeds' "When you RSVP to an
event in Juno" is open to everyone who can see the event.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from calsync.core.changes import RsvpChanged
from calsync.core.model import ANSWERS, Event, EventStatus, Principal, Rsvp, RsvpSource, RsvpStatus
from calsync.core.permissions import can_read_event_rsvps
from calsync.errors import Conflict, InvalidInput, NotFound
from calsync.services.access import deny, event_in_org, require_events
from calsync.services.context import ServiceContext
from calsync.services.uow import UnitOfWork, unit_of_work


def answer(ctx: ServiceContext, actor: Principal, event_id: int, status: RsvpStatus) -> Rsvp:
    """Set the caller's RSVP from the platform. Setting the state it already has changes nothing."""
    if status not in ANSWERS:
        raise InvalidInput(
            "answer with accepted, tentative or declined; needs_action is what an invitation starts as",
            field="status",
        )
    with unit_of_work(ctx.db) as uow:
        require_events(uow, actor)
        event = event_in_org(uow, actor, event_id, for_update=True)
        return set_rsvp(uow, event, actor.person_id, status, RsvpSource.PLATFORM, ctx.now())


def set_rsvp(
    uow: UnitOfWork, event: Event, person_id: int, status: RsvpStatus, source: RsvpSource, now: dt.datetime
) -> Rsvp:
    """The one place an RSVP changes, inside the caller's unit of work (the sync issue's pull reuses it with
    ``source`` google or microsoft). Records an :class:`RsvpChanged` for the sync seam when anything changed."""
    if event.status is EventStatus.CANCELLED:
        raise Conflict("this event is cancelled; its RSVPs can no longer change")
    current = uow.rsvps.get(event.id, person_id, for_update=True)
    if current is None:
        rsvp = uow.rsvps.add(event.id, person_id, status, source, now)
    elif current.status is status and current.source is source:
        return current
    else:
        rsvp = uow.rsvps.save(
            dataclasses.replace(current, status=status, source=source, version=current.version + 1, updated_at=now)
        )
    uow.record(RsvpChanged(event.organization_id, event.id, person_id, rsvp.id, rsvp.status, rsvp.source, rsvp.version))
    return rsvp


def my_rsvp(ctx: ServiceContext, actor: Principal, event_id: int) -> Rsvp:
    with unit_of_work(ctx.db, write=False) as uow:
        require_events(uow, actor)
        event = event_in_org(uow, actor, event_id)
        rsvp = uow.rsvps.get(event.id, actor.person_id)
    if rsvp is None:
        raise NotFound(
            f"you have no RSVP to event {event_id}: you were not invited and have not answered; "
            f"answer with PUT /api/v1/events/{event_id}/rsvp"
        )
    return rsvp


def my_rsvps(ctx: ServiceContext, actor: Principal, *, after: dt.datetime | None = None) -> list[tuple[Rsvp, Event]]:
    """The caller's RSVPs with their events, earliest first; with ``after``, only events not ended by then."""
    if after is not None and after.tzinfo is None:
        raise InvalidInput("'from' needs a UTC offset, e.g. 2026-03-01T00:00:00Z", field="from")
    with unit_of_work(ctx.db, write=False) as uow:
        require_events(uow, actor)
        return uow.rsvps.for_person(actor.person_id, ending_after=after)


def event_rsvps(ctx: ServiceContext, actor: Principal, event_id: int) -> list[Rsvp]:
    """Everyone's RSVP to one event: its organizer, administrators and support."""
    with unit_of_work(ctx.db, write=False) as uow:
        require_events(uow, actor)
        event = event_in_org(uow, actor, event_id)
        if not can_read_event_rsvps(actor, event.organizer_id):
            raise deny("only this event's organizer, administrators and support can list its RSVPs")
        return uow.rsvps.for_event(event.id)
