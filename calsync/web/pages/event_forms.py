"""Organizers' forms: create, edit, cancel and invite. Field errors come from the services' InvalidInput messages.

The form keeps what the person typed and shows each error beside its field (``aria-describedby``), so fixing one
mistake never means typing the event again. Times are wall-clock times in the event's zone; an empty zone means
the organizer's (seeds: "If the event was created without a timezone, it defaults to the organizer's timezone").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from calsync.core.model import AllDaySpan, Event, TimezoneSource
from calsync.core.permissions import can_change_event, can_create_events
from calsync.errors import InvalidInput, PermissionDenied
from calsync.services import events
from calsync.web.pages.common import Form, PageRoute, checked_form, ctx, redirect, render, viewer

router = APIRouter(route_class=PageRoute, include_in_schema=False)

TEXT_FIELDS = ("title", "description", "location", "timezone", "start", "end", "start_date", "end_date")


@dataclass
class EventFormData:
    """The form's values as typed (strings), and an error per field name."""

    values: dict[str, str]
    all_day: bool
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def blank(cls) -> EventFormData:
        return cls({name: "" for name in TEXT_FIELDS}, False)

    @classmethod
    def submitted(cls, form: Form) -> EventFormData:
        return cls({name: form.get(name) for name in TEXT_FIELDS}, form.get("all_day") in ("1", "on", "true"))

    @classmethod
    def of(cls, event: Event) -> EventFormData:
        span = event.span
        values = {
            "title": event.title,
            "description": event.description,
            "location": event.location,
            "timezone": event.timezone if event.timezone_source is TimezoneSource.EVENT else "",
            "start": "",
            "end": "",
            "start_date": "",
            "end_date": "",
        }
        if isinstance(span, AllDaySpan):
            values.update(start_date=span.start_date.isoformat(), end_date=span.end_date.isoformat())
        else:
            values.update(start=f"{span.start_local:%Y-%m-%dT%H:%M}", end=f"{span.end_local:%Y-%m-%dT%H:%M}")
        return cls(values, event.all_day)

    def _datetime(self, name: str) -> dt.datetime | None:
        raw = self.values[name]
        if not raw:
            return None
        try:
            return dt.datetime.fromisoformat(raw)
        except ValueError:
            self.errors[name] = f"“{raw}” is not a date and time; use the picker or type it like 2026-05-01T09:30."
            return None

    def _date(self, name: str) -> dt.date | None:
        raw = self.values[name]
        if not raw:
            return None
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            self.errors[name] = f"“{raw}” is not a date; use the picker or type it like 2026-05-01."
            return None

    def timing(self) -> dict[str, object]:
        """The timing fields for the services: times for a timed event, dates for an all-day one."""
        if self.all_day:
            return {
                "all_day": True,
                "start": None,
                "end": None,
                "start_date": self._date("start_date"),
                "end_date": self._date("end_date"),
            }
        if not self.values["start"]:
            self.errors["start"] = "Enter when the event starts."
        if not self.values["end"]:
            self.errors["end"] = "Enter when the event ends."
        return {
            "all_day": False,
            "start": self._datetime("start"),
            "end": self._datetime("end"),
            "start_date": None,
            "end_date": None,
        }


def _field_error(data: EventFormData, exc: InvalidInput) -> None:
    name = exc.field if exc.field in TEXT_FIELDS else "form"
    message = exc.message[:1].upper() + exc.message[1:]
    data.errors[name] = message


def _show(request: Request, data: EventFormData, *, event: Event | None, status_code: int = 200) -> Response:
    view = viewer(request)
    return render(
        request,
        "event_form.html",
        view,
        status_code=status_code,
        form=data,
        event=event,
        organizer_zone=view.person.timezone,
    )


@router.get("/events/new")
def new_event_form(request: Request) -> Response:
    view = viewer(request)
    events.list_upcoming(ctx(request), view.principal, limit=1)  # the Events module check, as every page does
    if not can_create_events(view.principal):
        raise PermissionDenied("Only organizers and administrators can create events.")
    return _show(request, EventFormData.blank(), event=None)


@router.post("/events/new")
def create_event(request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    view = viewer(request)
    data = EventFormData.submitted(form)
    timing = data.timing()
    if data.errors:
        return _show(request, data, event=None, status_code=422)
    draft = events.EventDraft(
        title=data.values["title"],
        description=data.values["description"] or None,
        location=data.values["location"] or None,
        timezone=data.values["timezone"] or None,
        **timing,  # type: ignore[arg-type]
    )
    try:
        event = events.create_event(ctx(request), view.principal, draft)
    except InvalidInput as exc:
        _field_error(data, exc)
        return _show(request, data, event=None, status_code=422)
    return redirect(f"/events/{event.id}?done=created")


def _changeable(request: Request, event_id: int) -> Event:
    view = viewer(request)
    event = events.get_event(ctx(request), view.principal, event_id)
    if not can_change_event(view.principal, event.organizer_id):
        raise PermissionDenied("Only this event's organizer or an administrator can change it.")
    return event


@router.get("/events/{event_id}/edit")
def edit_event_form(event_id: int, request: Request) -> Response:
    event = _changeable(request, event_id)
    return _show(request, EventFormData.of(event), event=event)


@router.post("/events/{event_id}/edit")
def edit_event(event_id: int, request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    view = viewer(request)
    event = _changeable(request, event_id)
    data = EventFormData.submitted(form)
    timing = data.timing()
    if data.errors:
        return _show(request, data, event=event, status_code=422)
    values: dict[str, object] = {
        "title": data.values["title"],
        "description": data.values["description"] or None,
        "location": data.values["location"] or None,
        **timing,
    }
    zone = data.values["timezone"] or None
    if zone is not None or event.timezone_source is TimezoneSource.EVENT:
        values["timezone"] = zone  # empty for an event that had its own zone: switch to the organizer's
    patch = events.EventPatch(fields=frozenset(values), **values)  # type: ignore[arg-type]
    try:
        events.update_event(ctx(request), view.principal, event_id, patch)
    except InvalidInput as exc:
        _field_error(data, exc)
        return _show(request, data, event=event, status_code=422)
    return redirect(f"/events/{event_id}?done=saved")


@router.post("/events/{event_id}/cancel")
def cancel_event(event_id: int, request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    events.cancel_event(ctx(request), viewer(request).principal, event_id)
    return redirect(f"/events/{event_id}?done=cancelled")


@router.post("/events/{event_id}/invite")
def invite(event_id: int, request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    chosen: list[int] = []
    for raw in form.getlist("person_id"):
        if not raw.isdigit():
            raise InvalidInput(f"“{raw}” is not a person id; pick people from the list.", field="person_id")
        chosen.append(int(raw))
    if not chosen:
        raise InvalidInput("Pick at least one person to invite.", field="person_id")
    events.invite(ctx(request), viewer(request).principal, event_id, chosen)
    return redirect(f"/events/{event_id}?done=invited")
