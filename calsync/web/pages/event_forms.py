"""Organizers' forms: create, edit, cancel and invite. Field errors come from the services' InvalidInput messages.

Every field is checked before the service is called (:func:`check_all`), so one submit shows every mistake. The
zone hint names the zone an empty zone really means: the event's organizer's.

The form keeps what the person typed and shows each error beside its field (``aria-describedby``), so fixing one
mistake never means typing the event again. Times are wall-clock times in the event's zone; an empty zone means
the organizer's (seeds: "If the event was created without a timezone, it defaults to the organizer's timezone").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from calsync.core import timezones, validation
from calsync.core.model import AllDaySpan, Event, TimezoneSource
from calsync.core.permissions import can_change_event, can_create_events
from calsync.errors import InvalidInput, PermissionDenied
from calsync.services import events, people
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


def check_all(data: EventFormData, timing: dict[str, object], zone_if_empty: str) -> None:
    """Every field's problem at once (issue 16: an empty title, a bad zone and an end before the start took three
    submits). The same core checks the services run, one per field, so a form that passes here is accepted by
    the service (which still checks everything: this only gathers the messages)."""

    def attempt(name: str, check: Callable[[], object]) -> None:
        if name in data.errors:
            return
        try:
            check()
        except InvalidInput as exc:
            _field_error(data, exc, default=name)

    values = data.values
    attempt("title", lambda: validation.required_text(values["title"], field="title", max_length=validation.MAX_TITLE))
    attempt(
        "description",
        lambda: validation.optional_text(
            values["description"], field="description", max_length=validation.MAX_DESCRIPTION
        ),
    )
    attempt(
        "location",
        lambda: validation.optional_text(values["location"], field="location", max_length=validation.MAX_LOCATION),
    )
    zone = values["timezone"] or zone_if_empty
    attempt("timezone", lambda: timezones.validate_zone(zone))
    start, end = timing["start"], timing["end"]
    if "timezone" in data.errors:
        # no zone to place the times in; an end at or before the start on the clock is wrong in any zone
        if isinstance(start, dt.datetime) and isinstance(end, dt.datetime) and end <= start:
            data.errors["end"] = f"The end ({end:%Y-%m-%d %H:%M}) must be after start ({start:%Y-%m-%d %H:%M})."
        return
    if isinstance(start, dt.datetime) and isinstance(end, dt.datetime):
        attempt("end", lambda: timezones.resolve_timed(start, end, zone))
    first, last = timing["start_date"], timing["end_date"]
    if isinstance(first, dt.date) and isinstance(last, dt.date):
        attempt("end_date", lambda: timezones.resolve_all_day(first, last, zone))
    elif data.all_day:
        for name, value in (("start_date", first), ("end_date", last)):
            if value is None and name not in data.errors:
                data.errors[name] = "Enter the " + ("first" if name == "start_date" else "last") + " day."


def _field_error(data: EventFormData, exc: InvalidInput, default: str = "form") -> None:
    name = exc.field if exc.field in TEXT_FIELDS else default
    message = exc.message[:1].upper() + exc.message[1:]
    data.errors[name] = message


def organizer_zone(request: Request, event: Event | None) -> str:
    """The zone an event without its own zone takes: its organizer's (the person creating it, for a new event;
    for an edit by an administrator, the event's organizer, not the administrator)."""
    view = viewer(request)
    if event is None or event.organizer_id == view.person.id:
        return view.person.timezone
    found = next((p for p in people.list_people(ctx(request), view.principal) if p.id == event.organizer_id), None)
    return found.timezone if found is not None else event.timezone


def _show(request: Request, data: EventFormData, *, event: Event | None, status_code: int = 200) -> Response:
    view = viewer(request)
    return render(
        request,
        "event_form.html",
        view,
        status_code=status_code,
        form=data,
        event=event,
        organizer_zone=organizer_zone(request, event),
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
    check_all(data, timing, view.person.timezone)
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
    check_all(data, timing, organizer_zone(request, event))
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
