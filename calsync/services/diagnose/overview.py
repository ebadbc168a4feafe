"""`calsync status` and `calsync resync`: the installation at a glance, and Resync for one person or all."""

from __future__ import annotations

import dataclasses
import datetime as dt

from calsync.core import validation
from calsync.core.connection import ConnectionStatus, Provider
from calsync.errors import (
    CalsyncError,
)
from calsync.services import auth
from calsync.services.connections import CalendarContext, request_resync
from calsync.services.diagnose.model import (
    ERROR_WINDOW,
    DiagnoseOptions,
)
from calsync.services.diagnose.run import find_person_id
from calsync.services.uow import unit_of_work
from calsync.store.connections import ConnectionRecord, ConnectionRepository
from calsync.store.work import WorkRepository

# ---- `calsync status` and `calsync resync` ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class InstallationStatus:
    """The overview `calsync status` prints: connections by state, the queue, workers, recent errors."""

    now: dt.datetime
    by_status: dict[str, int]
    by_provider: dict[str, int]
    due: int
    leased: int
    backing_off: int
    need_full_sync: int
    workers_alive: int
    workers_known: int
    errors: list[tuple[dt.datetime, int, str, str]]
    """(when, connection id, account, message), latest first."""

    def as_json(self) -> dict[str, object]:
        return {
            "checked_at": self.now.isoformat(),
            "connections": self.by_status,
            "providers": self.by_provider,
            "due": self.due,
            "leased": self.leased,
            "backing_off": self.backing_off,
            "need_full_sync": self.need_full_sync,
            "workers_alive": self.workers_alive,
            "workers_known": self.workers_known,
            "recent_errors": [
                {"at": at.isoformat(), "connection_id": cid, "account": acct, "message": msg}
                for at, cid, acct, msg in self.errors
            ],
        }


def _all_connections(cc: CalendarContext, *, connected_only: bool = False) -> list[ConnectionRecord]:
    """Every connection of the installation, across organizations (id order)."""
    with unit_of_work(cc.service.db, write=False) as uow:
        return ConnectionRepository(uow.session).all(status=ConnectionStatus.CONNECTED if connected_only else None)


def installation_status(cc: CalendarContext, options: DiagnoseOptions, *, error_limit: int = 10) -> InstallationStatus:
    now = cc.service.now()
    records = _all_connections(cc)
    by_status = {s.value: 0 for s in ConnectionStatus}
    by_provider = {p.value: 0 for p in Provider}
    errors: list[tuple[dt.datetime, int, str, str]] = []
    with unit_of_work(cc.service.db, write=False) as uow:
        repo = ConnectionRepository(uow.session)
        for r in records:
            by_status[r.status.value] += 1
            if r.status is not ConnectionStatus.DISCONNECTED:
                by_provider[r.provider.value] += 1
                for line in repo.recent_log(r.id, error_limit, level="error"):
                    if line.at >= now - ERROR_WINDOW:
                        errors.append((line.at, r.id, r.account_email, line.message))
        work = WorkRepository(uow.session)
        live = work.live_workers(now, dt.timedelta(seconds=2 * options.lease_seconds))
        known = len(work.workers())
    connected = [r for r in records if r.status is ConnectionStatus.CONNECTED]
    errors.sort(key=lambda e: e[0], reverse=True)
    return InstallationStatus(
        now=now,
        by_status=by_status,
        by_provider=by_provider,
        due=sum(1 for r in connected if r.due_at is not None and r.due_at <= now),
        leased=sum(1 for r in connected if r.lease_until is not None and r.lease_until > now),
        backing_off=sum(1 for r in connected if r.attempts > 0),
        need_full_sync=sum(1 for r in records if r.need_full_sync and r.status is not ConnectionStatus.DISCONNECTED),
        workers_alive=live,
        workers_known=known,
        errors=errors[:error_limit],
    )


@dataclasses.dataclass(frozen=True)
class ResyncRequest:
    """One person's resync request: ``requested`` or the reason it was refused (in error, Events module off…)."""

    connection_id: int | None
    person_id: int
    account: str
    requested: bool
    message: str


def resync_targets(cc: CalendarContext, *, email: str | None) -> list[tuple[int, str]]:
    """(person id, label) of the people to resync: one person by email, or everyone with a connected calendar."""
    if email is not None:
        return [(find_person_id(cc, email), validation.email(email, field="user"))]
    return [(r.person_id, r.account_email) for r in _all_connections(cc, connected_only=True)]


def request_one(cc: CalendarContext, person_id: int, label: str) -> ResyncRequest:
    """The seeds' Resync for one person, with exactly the person's own semantics (services.connections
    .request_resync: refused while the connection is in error or the Events module is off)."""
    with unit_of_work(cc.service.db, write=False) as uow:
        person = uow.people.get(person_id)
    if person is None:
        return ResyncRequest(None, person_id, label, False, "the person no longer exists")
    try:
        connection = request_resync(cc, auth.principal(person))
    except CalsyncError as exc:
        return ResyncRequest(None, person_id, label, False, exc.message)
    return ResyncRequest(connection.id, person_id, connection.account_email, True, "resync requested")
