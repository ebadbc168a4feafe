"""Events: the upcoming events of my organization with my RSVP buttons and a sync badge each, and one event's page.

The badge (:mod:`calsync.services.badges`) says whether the event is in the person's calendar, on its way, or not
and why, so the seeds' "Event not showing in my calendar" checklist is answered where the question arises.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from calsync.core.model import ANSWERS, Event, Person, Principal, Rsvp, RsvpStatus
from calsync.core.permissions import can_change_event
from calsync.errors import InvalidInput, NotFound
from calsync.services import badges, events, people, rsvps
from calsync.web.pages.common import Form, PageRoute, calendar, checked_form, ctx, redirect, render, safe_next, viewer

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ANSWER_ORDER = [RsvpStatus.ACCEPTED, RsvpStatus.TENTATIVE, RsvpStatus.DECLINED]
ANSWER_LABELS = {RsvpStatus.ACCEPTED: "Accept", RsvpStatus.TENTATIVE: "Tentative", RsvpStatus.DECLINED: "Decline"}


@router.get("/events")
def event_list(request: Request) -> Response:
    view = viewer(request)
    service = ctx(request)
    upcoming = events.list_upcoming(service, view.principal)
    mine = {e.id: r.status for r, e in rsvps.my_rsvps(service, view.principal, after=service.now())}
    found = badges.badges_for(calendar(request), view.principal, [(e.id, mine.get(e.id)) for e in upcoming])
    return render(
        request,
        "events.html",
        view,
        events=upcoming,
        mine=mine,
        badges=found,
        answers=ANSWER_ORDER,
        labels=ANSWER_LABELS,
        now=service.now(),
    )


@router.post("/events/{event_id}/rsvp")
def answer(event_id: int, request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    view = viewer(request)
    try:
        status = RsvpStatus(form.get("status"))
    except ValueError:
        status = RsvpStatus.NEEDS_ACTION
    if status not in ANSWERS:
        raise InvalidInput("Choose Accept, Tentative or Decline.", field="status")
    rsvps.answer(ctx(request), view.principal, event_id, status)
    return redirect(f"{safe_next(form.get('next'))}#event-{event_id}")


def my_answer(request: Request, actor: Principal, event: Event) -> Rsvp | None:
    try:
        return rsvps.my_rsvp(ctx(request), actor, event.id)
    except NotFound:
        return None


@router.get("/events/{event_id}")
def event_page(event_id: int, request: Request) -> Response:
    view = viewer(request)
    service = ctx(request)
    event = events.get_event(service, view.principal, event_id)
    mine = my_answer(request, view.principal, event)
    badge = badges.badges_for(calendar(request), view.principal, [(event.id, mine.status if mine else None)])
    manages = can_change_event(view.principal, event.organizer_id)
    answers: list[Rsvp] = []
    everyone: dict[int, Person] = {}
    if manages:
        answers = rsvps.event_rsvps(service, view.principal, event.id)
        everyone = {p.id: p for p in people.list_people(service, view.principal)}
    organizer = everyone.get(event.organizer_id)
    invited = {r.person_id for r in answers}
    return render(
        request,
        "event.html",
        view,
        event=event,
        mine=mine.status if mine else None,
        badge=badge[event.id],
        manages=manages,
        answers=answers,
        everyone=everyone,
        invitable=[p for p in everyone.values() if p.id not in invited],
        organizer=organizer,
        labels=ANSWER_LABELS,
        order=ANSWER_ORDER,
        now=service.now(),
        notice=request.query_params.get("done"),
    )
