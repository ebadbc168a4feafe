"""The organization overview admins and support staff see: connections by state, recent sync errors, and whether
the worker processes are alive.

Read in one unit of work from the connection rows, their logs (error lines) and the workers' heartbeats; nothing
here asks a provider. The admin page (:mod:`calsync.web.pages.admin`) renders it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from calsync.core.connection import Connection, ConnectionStatus
from calsync.core.model import Principal, Role
from calsync.errors import PermissionDenied
from calsync.services.access import organization_of
from calsync.services.connections import CalendarContext
from calsync.services.uow import unit_of_work
from calsync.store.connections import ConnectionRepository
from calsync.store.work import WorkRepository

WORKER_ALIVE_WITHIN = dt.timedelta(seconds=60)
"""A worker whose last heartbeat is older than this is shown as not alive (workers beat every few seconds)."""


@dataclass(frozen=True)
class WorkerHealth:
    id: str
    kind: str
    host: str
    pid: int
    heartbeat_at: dt.datetime
    alive: bool


@dataclass(frozen=True)
class SyncError:
    at: dt.datetime
    connection_id: int
    account_email: str
    event_id: int | None
    message: str


@dataclass(frozen=True)
class Overview:
    """What the admin page shows: connections by state, recent sync errors, worker liveness."""

    connections: list[Connection]
    counts: dict[ConnectionStatus, int]
    errors: list[SyncError]
    workers: list[WorkerHealth]
    now: dt.datetime

    @property
    def workers_alive(self) -> int:
        return sum(1 for w in self.workers if w.alive and w.kind == "worker")

    @property
    def alive_by_kind(self) -> dict[str, int]:
        """Live processes per kind ("worker", and whatever else heartbeats, e.g. a scheduler), workers first."""
        kinds = sorted({w.kind for w in self.workers} | {"worker"}, key=lambda k: (k != "worker", k))
        return {kind: sum(1 for w in self.workers if w.alive and w.kind == kind) for kind in kinds}


def organization_overview(cc: CalendarContext, actor: Principal, *, error_limit: int = 20) -> Overview:
    """Admins and support: the organization's connections, its recent sync errors (from the connection logs),
    and whether worker processes are alive (a heartbeat within :data:`WORKER_ALIVE_WITHIN`)."""
    if actor.role not in (Role.ADMIN, Role.SUPPORT):
        raise PermissionDenied("only administrators and support staff may see the organization's sync status")
    now = cc.service.now()
    with unit_of_work(cc.service.db, write=False) as uow:
        organization_of(uow, actor)
        repo = ConnectionRepository(uow.session)
        records = repo.in_organization(actor.organization_id)
        connections = [r.view(repo.pending_changes(r.id)) for r in records]
        errors = [
            SyncError(line.at, r.id, r.account_email, line.event_id, line.message)
            for r in records
            for line in repo.recent_log(r.id, error_limit, level="error")
        ]
        workers = [
            WorkerHealth(w.id, w.kind, w.host, w.pid, w.heartbeat_at, now - w.heartbeat_at <= WORKER_ALIVE_WITHIN)
            for w in WorkRepository(uow.session).workers()
        ]
    errors.sort(key=lambda e: e.at, reverse=True)
    counts = {status: 0 for status in ConnectionStatus}
    for c in connections:
        counts[c.status] += 1
    return Overview(connections, counts, errors[:error_limit], workers, now)
