"""``/api/v1/events``: create, list upcoming, read, edit, cancel, invite; RSVPs to one event."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from calsync.services import events, rsvps
from calsync.web.deps import Actor, Ctx
from calsync.web.schemas import EventIn, EventOut, EventPatchIn, Instant, InviteIn, RsvpIn, RsvpOut

router = APIRouter(prefix="/events", tags=["events"])


@router.post("", status_code=201, summary="Create an event (organizers and administrators)")
def create_event(body: EventIn, ctx: Ctx, actor: Actor) -> EventOut:
    draft = events.EventDraft(**body.model_dump())
    return EventOut.of(events.create_event(ctx, actor, draft))


@router.get("", summary="Upcoming events of your organization, earliest first")
def list_events(
    ctx: Ctx,
    actor: Actor,
    from_: Annotated[
        Instant | None,
        Query(alias="from", description="Events not ended at this instant (ISO 8601 with offset). Default: now."),
    ] = None,
    include_cancelled: bool = False,
    limit: Annotated[int, Query(ge=1, le=events.MAX_LIST)] = 100,
) -> list[EventOut]:
    found = events.list_upcoming(ctx, actor, after=from_, include_cancelled=include_cancelled, limit=limit)
    return [EventOut.of(e) for e in found]


@router.get("/{event_id}", summary="One event")
def get_event(event_id: int, ctx: Ctx, actor: Actor) -> EventOut:
    return EventOut.of(events.get_event(ctx, actor, event_id))


@router.patch("/{event_id}", summary="Edit an event (its organizer or an administrator)")
def update_event(event_id: int, body: EventPatchIn, ctx: Ctx, actor: Actor) -> EventOut:
    given = frozenset(body.model_fields_set)
    patch = events.EventPatch(fields=given, **{name: getattr(body, name) for name in given})
    return EventOut.of(events.update_event(ctx, actor, event_id, patch))


@router.post("/{event_id}/cancel", summary="Cancel an event (its organizer or an administrator)")
def cancel_event(event_id: int, ctx: Ctx, actor: Actor) -> EventOut:
    return EventOut.of(events.cancel_event(ctx, actor, event_id))


@router.post("/{event_id}/invitations", summary="Invite people: each gets a needs_action RSVP")
def invite(event_id: int, body: InviteIn, ctx: Ctx, actor: Actor) -> list[RsvpOut]:
    return [RsvpOut.of(r) for r in events.invite(ctx, actor, event_id, body.person_ids)]


@router.get("/{event_id}/rsvps", summary="Everyone's RSVP (organizer, administrators, support)")
def event_rsvps(event_id: int, ctx: Ctx, actor: Actor) -> list[RsvpOut]:
    return [RsvpOut.of(r) for r in rsvps.event_rsvps(ctx, actor, event_id)]


@router.put("/{event_id}/rsvp", summary="Set your RSVP: accepted, tentative or declined")
def set_my_rsvp(event_id: int, body: RsvpIn, ctx: Ctx, actor: Actor) -> RsvpOut:
    return RsvpOut.of(rsvps.answer(ctx, actor, event_id, body.status))


@router.get("/{event_id}/rsvp", summary="Your RSVP to this event")
def get_my_rsvp(event_id: int, ctx: Ctx, actor: Actor) -> RsvpOut:
    return RsvpOut.of(rsvps.my_rsvp(ctx, actor, event_id))
