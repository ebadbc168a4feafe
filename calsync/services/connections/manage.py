"""Managing the caller's active connection: its calendars, which one receives events, what the calendar shows,
and Resync.

Every provider request goes through :func:`~.provider_calls._call`, so a grant that turns out to be unusable
puts the connection in error and the person is told why and how to fix it (issue 4).
"""

from __future__ import annotations

from calsync.core.connection import Connection, ConnectionStatus
from calsync.core.entry import Display
from calsync.core.model import Principal
from calsync.errors import Conflict, InvalidInput, NotFound
from calsync.providers.base import CalendarInfo
from calsync.services.access import organization_of, require_events
from calsync.services.connections.context import CalendarContext
from calsync.services.connections.provider_calls import _call
from calsync.services.uow import unit_of_work
from calsync.store.connections import ConnectionRecord, ConnectionRepository
from calsync.store.entries import EntryRepository

DEDICATED_NAME_SUFFIX = "events"


def _active(cc: CalendarContext, actor: Principal) -> ConnectionRecord:
    with unit_of_work(cc.service.db, write=False) as uow:
        require_events(uow, actor)
        record = ConnectionRepository(uow.session).active_for_person(actor.person_id)
    if record is None:
        raise NotFound("you have no connected calendar; connect Google Calendar or Outlook first")
    return record


def list_calendars(cc: CalendarContext, actor: Principal) -> list[CalendarInfo]:
    """The caller's writable calendars (the target picker)."""
    record = _active(cc, actor)
    directory = cc.providers.calendars(record.provider)
    return [c for c in _call(cc, record, directory.list_calendars) if c.writable]


def set_target(
    cc: CalendarContext, actor: Principal, *, calendar_id: str | None = None, create_dedicated: bool = False
) -> Connection:
    """Pick which calendar receives events, or have calsync create a dedicated one named after the organization.
    Entries already written move to the new calendar on the next sync."""
    if (calendar_id is None) == (not create_dedicated):
        raise InvalidInput("give either calendar_id or create_dedicated=true", field="calendar_id")
    record = _active(cc, actor)
    directory = cc.providers.calendars(record.provider)
    calendars = _call(cc, record, directory.list_calendars)
    if create_dedicated:
        with unit_of_work(cc.service.db, write=False) as uow:
            org = organization_of(uow, actor)
        name = f"{org.name} {DEDICATED_NAME_SUFFIX}"
        chosen = next((c for c in calendars if c.name == name and c.writable), None)
        if chosen is None:
            chosen = _call(cc, record, lambda token: directory.create_calendar(token, name, actor.timezone))
    else:
        chosen = next((c for c in calendars if c.id == calendar_id), None)
        if chosen is None:
            raise InvalidInput(
                f"no calendar with id {calendar_id!r} in your account; pick one from the list", field="calendar_id"
            )
        if not chosen.writable:
            raise InvalidInput(
                f"calsync cannot write to {chosen.name!r}; pick a calendar you can edit", field="calendar_id"
            )
    now = cc.service.now()
    with unit_of_work(cc.service.db) as uow:
        repo = ConnectionRepository(uow.session)
        if record.target_calendar_id != chosen.id:
            repo.set_target(
                record.id, calendar_id=chosen.id, calendar_name=chosen.name, dedicated=create_dedicated
            )
            EntryRepository(uow.session).mark_dirty(record.id, None, now)
            repo.mark_due(record.id, now, pull=True)
            repo.log(record.id, now, "target", f"target calendar set to {chosen.name!r}")
        updated = repo.get(record.id)
        assert updated is not None
        return updated.view(repo.pending_changes(record.id))


def request_resync(cc: CalendarContext, actor: Principal) -> Connection:
    """The seeds' **Resync**: a full reconciliation soon, bringing back entries the person deleted too."""
    record = _active(cc, actor)
    if record.status is ConnectionStatus.ERROR:
        raise Conflict(f"{record.error_reason or 'This connection is in error.'} A resync cannot run until then.")
    now = cc.service.now()
    with unit_of_work(cc.service.db) as uow:
        repo = ConnectionRepository(uow.session)
        repo.request_full_sync(record.id, "resync requested by you", resync=True)
        EntryRepository(uow.session).mark_dirty(record.id, None, now)
        repo.mark_due(record.id, now, pull=True)
        repo.log(record.id, now, "resync", "resync requested")
        updated = repo.get(record.id)
        assert updated is not None
        return updated.view(repo.pending_changes(record.id))


def set_display(cc: CalendarContext, actor: Principal, display: Display) -> Connection:
    """Choose what the caller's calendar shows of each event (full details, title and time, or busy only).

    Every entry is marked for the next round: its rendering, and so its fingerprint, changes, and the engine
    updates the entries in place (no full sync is needed: nothing moves). Choosing the current value is a no-op.
    """
    record = _active(cc, actor)
    now = cc.service.now()
    with unit_of_work(cc.service.db) as uow:
        repo = ConnectionRepository(uow.session)
        if Display(record.display) is not display:
            repo.set_display(record.id, display)
            EntryRepository(uow.session).mark_dirty(record.id, None, now)
            repo.mark_due(record.id, now)
            repo.log(record.id, now, "display", f"calendar shows: {display.label}")
        updated = repo.get(record.id)
        assert updated is not None
        return updated.view(repo.pending_changes(record.id))
