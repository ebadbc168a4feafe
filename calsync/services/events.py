"""Events: create, edit, cancel, list upcoming, read, invite. Each operation is one unit of work.

Every change bumps the event's ``version`` and records an :class:`~calsync.core.changes.EventChanged` (and an
:class:`~calsync.core.changes.RsvpChanged` per new invitation) on the unit of work, which hands them to the
sync seam before committing (see :mod:`calsync.services.uow`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from calsync.core import timing, validation
from calsync.core.changes import EventChanged, EventChangeKind, RsvpChanged
from calsync.core.model import AllDaySpan, Event, EventStatus, Principal, Rsvp, RsvpSource, RsvpStatus
from calsync.core.permissions import can_change_event, can_create_events
from calsync.core.timezones import effective_zone
from calsync.errors import Conflict, InvalidInput, NotFound
from calsync.services.access import deny, event_in_org, require_events
from calsync.services.context import ServiceContext
from calsync.services.uow import UnitOfWork, unit_of_work

MAX_LIST = 500
MAX_INVITES = 1000
PATCHABLE = frozenset(
    {"title", "description", "location", "timezone", "all_day", "start", "end", "start_date", "end_date"}
)


@dataclass(frozen=True)
class EventDraft:
    """What a caller supplies to create an event. ``timezone`` None means "my (the organizer's) zone"."""

    title: str
    description: str | None = None
    location: str | None = None
    timezone: str | None = None
    all_day: bool = False
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None


@dataclass(frozen=True)
class EventPatch:
    """A partial edit: only the names in ``fields`` are applied (so an explicit None differs from "absent").

    ``timezone`` set to None switches the event to its organizer's current zone, keeping its wall-clock times.
    """

    fields: frozenset[str]
    title: str | None = None
    description: str | None = None
    location: str | None = None
    timezone: str | None = None
    all_day: bool | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None

    def __post_init__(self) -> None:
        unknown = self.fields - PATCHABLE
        if unknown:
            raise InvalidInput(f"unknown field(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])


def create_event(ctx: ServiceContext, actor: Principal, draft: EventDraft) -> Event:
    """Create a scheduled event organized by the caller (organizers and admins).

    With no ``timezone`` the organizer's zone is stored with ``timezone_source = organizer`` (seeds: "If the event
    was created without a timezone, it defaults to the organizer's timezone"), so a later change of the
    organizer's zone does not move the event.
    """
    title = validation.required_text(draft.title, field="title", max_length=validation.MAX_TITLE)
    description = validation.optional_text(
        draft.description, field="description", max_length=validation.MAX_DESCRIPTION, multiline=True
    )
    location = validation.optional_text(draft.location, field="location", max_length=validation.MAX_LOCATION)
    with unit_of_work(ctx.db) as uow:
        require_events(uow, actor)
        if not can_create_events(actor):
            raise deny("only organizers and administrators can create events")
        organizer = uow.people.get(actor.person_id)
        assert organizer is not None
        zone_name, source = effective_zone(draft.timezone, organizer.timezone)
        resolved = timing.resolve(
            all_day=draft.all_day,
            start=draft.start,
            end=draft.end,
            start_date=draft.start_date,
            end_date=draft.end_date,
            zone_name=zone_name,
        )
        event = uow.events.add(
            organization_id=actor.organization_id,
            organizer_id=actor.person_id,
            title=title,
            description=description,
            location=location,
            timezone=zone_name,
            timezone_source=source,
            span=resolved.span,
            start_utc=resolved.start_utc,
            end_utc=resolved.end_utc,
            now=ctx.now(),
        )
        uow.record(EventChanged(event.organization_id, event.id, event.version, EventChangeKind.CREATED))
        return event


def _changeable(uow: UnitOfWork, actor: Principal, event_id: int) -> Event:
    require_events(uow, actor)
    event = event_in_org(uow, actor, event_id, for_update=True)
    if not can_change_event(actor, event.organizer_id):
        raise deny("only this event's organizer or an administrator can change it")
    return event


def update_event(ctx: ServiceContext, actor: Principal, event_id: int, patch: EventPatch) -> Event:
    """Apply a partial edit. A patch that changes nothing leaves the version alone. Cancelled events are final."""
    with unit_of_work(ctx.db) as uow:
        event = _changeable(uow, actor, event_id)
        if event.status is EventStatus.CANCELLED:
            raise Conflict("this event is cancelled and can no longer be edited; create a new event instead")
        updated = _patched(uow, event, patch)
        if _same(updated, event):
            return event
        updated = dataclasses.replace(updated, version=event.version + 1, updated_at=ctx.now())
        saved = uow.events.save(updated)
        uow.record(EventChanged(saved.organization_id, saved.id, saved.version, EventChangeKind.UPDATED))
        return saved


def _same(a: Event, b: Event) -> bool:
    return dataclasses.replace(a, updated_at=b.updated_at, version=b.version) == b


def _patched(uow: UnitOfWork, event: Event, patch: EventPatch) -> Event:
    given = patch.fields
    changes: dict[str, object] = {}
    if "title" in given:
        changes["title"] = validation.required_text(patch.title or "", field="title", max_length=validation.MAX_TITLE)
    if "description" in given:
        changes["description"] = validation.optional_text(
            patch.description, field="description", max_length=validation.MAX_DESCRIPTION, multiline=True
        )
    if "location" in given:
        changes["location"] = validation.optional_text(
            patch.location, field="location", max_length=validation.MAX_LOCATION
        )
    zone_name, source = event.timezone, event.timezone_source
    if "timezone" in given:
        organizer = uow.people.get(event.organizer_id)
        assert organizer is not None
        zone_name, source = effective_zone(patch.timezone, organizer.timezone)
    timing_fields = {"all_day", "start", "end", "start_date", "end_date"} & given
    if timing_fields or "timezone" in given:
        if "all_day" in given and patch.all_day is None:
            raise InvalidInput("all_day must be true or false", field="all_day")
        all_day = patch.all_day if "all_day" in given and patch.all_day is not None else event.all_day
        span = event.span
        dates = span if isinstance(span, AllDaySpan) and all_day else None
        times = span if not isinstance(span, AllDaySpan) and not all_day else None
        resolved = timing.resolve(
            all_day=all_day,
            start=patch.start if "start" in given else (times.start_local if times else None),
            end=patch.end if "end" in given else (times.end_local if times else None),
            start_date=patch.start_date if "start_date" in given else (dates.start_date if dates else None),
            end_date=patch.end_date if "end_date" in given else (dates.end_date if dates else None),
            zone_name=zone_name,
        )
        changes.update(
            timezone=zone_name,
            timezone_source=source,
            all_day=resolved.all_day,
            span=resolved.span,
            start_utc=resolved.start_utc,
            end_utc=resolved.end_utc,
        )
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]


def cancel_event(ctx: ServiceContext, actor: Principal, event_id: int) -> Event:
    """Cancel an event. Cancelling a cancelled event changes nothing. RSVPs stay, frozen (answering is 409)."""
    with unit_of_work(ctx.db) as uow:
        event = _changeable(uow, actor, event_id)
        if event.status is EventStatus.CANCELLED:
            return event
        cancelled = dataclasses.replace(
            event, status=EventStatus.CANCELLED, version=event.version + 1, updated_at=ctx.now()
        )
        saved = uow.events.save(cancelled)
        uow.record(EventChanged(saved.organization_id, saved.id, saved.version, EventChangeKind.CANCELLED))
        return saved


def get_event(ctx: ServiceContext, actor: Principal, event_id: int) -> Event:
    with unit_of_work(ctx.db, write=False) as uow:
        require_events(uow, actor)
        return event_in_org(uow, actor, event_id)


def list_upcoming(
    ctx: ServiceContext,
    actor: Principal,
    *,
    after: dt.datetime | None = None,
    include_cancelled: bool = False,
    limit: int = 100,
) -> list[Event]:
    """Events of the caller's organization that have not ended at ``after`` (default now), earliest first."""
    if after is not None and after.tzinfo is None:
        raise InvalidInput("'from' needs a UTC offset, e.g. 2026-03-01T00:00:00Z", field="from")
    if not 1 <= limit <= MAX_LIST:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIST}", field="limit")
    moment = ctx.now() if after is None else after.astimezone(dt.UTC)
    with unit_of_work(ctx.db, write=False) as uow:
        require_events(uow, actor)
        return uow.events.upcoming(actor.organization_id, moment, include_cancelled=include_cancelled, limit=limit)


def invite(ctx: ServiceContext, actor: Principal, event_id: int, person_ids: Sequence[int]) -> list[Rsvp]:
    """Invite people of the organization: each without an RSVP gets one in ``needs_action``.

    People who already have an RSVP keep it as it is (inviting twice is harmless). Returns the RSVPs of everyone
    named. The event's own version does not change: invitations are RSVPs, which carry their own versions.
    """
    wanted = list(dict.fromkeys(person_ids))
    if not wanted:
        raise InvalidInput("person_ids must name at least one person", field="person_ids")
    if len(wanted) > MAX_INVITES:
        raise InvalidInput(f"invite at most {MAX_INVITES} people at once", field="person_ids")
    with unit_of_work(ctx.db) as uow:
        event = _changeable(uow, actor, event_id)
        if event.status is EventStatus.CANCELLED:
            raise Conflict("this event is cancelled; nobody can be invited to it")
        found = uow.people.many_in_organization(actor.organization_id, wanted)
        missing = [pid for pid in wanted if pid not in found]
        if missing:
            raise NotFound(
                f"no person with id {', '.join(map(str, missing))} in your organization; "
                "list people with GET /api/v1/people"
            )
        existing = uow.rsvps.people_with_rsvp(event.id)
        now = ctx.now()
        new: list[int] = []
        for pid in wanted:
            if pid in existing:
                continue
            rsvp = uow.rsvps.add(event.id, pid, RsvpStatus.NEEDS_ACTION, RsvpSource.PLATFORM, now)
            uow.record(
                RsvpChanged(event.organization_id, event.id, pid, rsvp.id, rsvp.status, rsvp.source, rsvp.version)
            )
            new.append(pid)
        if new:
            uow.record(
                EventChanged(event.organization_id, event.id, event.version, EventChangeKind.INVITED, tuple(new))
            )
        everyone = {r.person_id: r for r in uow.rsvps.for_event(event.id)}
        return [everyone[pid] for pid in wanted]
