"""Reading connections: the caller's own, a person's (support), the organization's (support and admins).

Reads never touch the provider and never return tokens: a :class:`~calsync.core.connection.Connection` is the
person-facing view of the row, with the number of changes still waiting for the calendar.
"""

from __future__ import annotations

from calsync.core.connection import Connection, ConnectionStatus
from calsync.core.model import Principal, Role
from calsync.errors import NotFound, PermissionDenied
from calsync.services.access import organization_of
from calsync.services.connections.context import CalendarContext
from calsync.services.uow import unit_of_work
from calsync.store.connections import ConnectionRepository


def my_connection(cc: CalendarContext, actor: Principal) -> Connection | None:
    """The caller's active connection, else their most recent one (None if they never connected)."""
    with unit_of_work(cc.service.db, write=False) as uow:
        repo = ConnectionRepository(uow.session)
        record = repo.latest_for_person(actor.person_id)
        return None if record is None else record.view(repo.pending_changes(record.id))


def _may_support(actor: Principal) -> None:
    if actor.role not in (Role.ADMIN, Role.SUPPORT):
        raise PermissionDenied("only administrators and support staff may read other people's connections")


def person_connection(cc: CalendarContext, actor: Principal, person_id: int) -> Connection | None:
    """Support and admins: a person's connection in their own organization (never the tokens)."""
    _may_support(actor)
    with unit_of_work(cc.service.db, write=False) as uow:
        person = uow.people.get(person_id)
        if person is None or person.organization_id != actor.organization_id:
            raise NotFound(f"no person with id {person_id} in your organization")
        repo = ConnectionRepository(uow.session)
        record = repo.latest_for_person(person_id)
        return None if record is None else record.view(repo.pending_changes(record.id))


def organization_connections(
    cc: CalendarContext, actor: Principal, status: ConnectionStatus | None = None
) -> list[Connection]:
    _may_support(actor)
    with unit_of_work(cc.service.db, write=False) as uow:
        organization_of(uow, actor)
        repo = ConnectionRepository(uow.session)
        return [r.view(repo.pending_changes(r.id)) for r in repo.in_organization(actor.organization_id, status)]
