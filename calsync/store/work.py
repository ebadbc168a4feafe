"""The work queue: connections are claimed under a lease, released with their next due time.

Claiming is ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`` on PostgreSQL, so any
number of workers on any number of hosts each take different connections without waiting on each other; SQLite
has one writer at a time (``BEGIN IMMEDIATE``), which serializes claims the same way (design.md §3). A claim
expires at ``lease_until`` unless renewed, so a worker that dies (even by SIGKILL) loses its connections to the
next claimer. ``work_seq`` taken at claim time lets the release see whether new changes arrived meanwhile: then
the connection stays due instead of waiting for the next poll.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from calsync.core.connection import ConnectionStatus
from calsync.store.models import OrganizationRow
from calsync.store.sync_models import ConnectionRow, WorkerRow


@dataclass(frozen=True)
class Claim:
    connection_id: int
    work_seq: int


class WorkRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, worker_id: str, now: dt.datetime, lease: dt.timedelta, limit: int) -> list[Claim]:
        """Take up to ``limit`` due connections nobody holds (or whose holder's lease ran out)."""
        candidates = (
            select(ConnectionRow.id)
            .where(
                ConnectionRow.status == ConnectionStatus.CONNECTED,
                ConnectionRow.due_at.is_not(None),
                ConnectionRow.due_at <= now,
                or_(ConnectionRow.lease_until.is_(None), ConnectionRow.lease_until < now),
                # an organization an operator disabled is not synced (its work waits; nothing is deleted)
                ConnectionRow.organization_id.not_in(
                    select(OrganizationRow.id).where(OrganizationRow.disabled_at.is_not(None))
                ),
            )
            .order_by(ConnectionRow.due_at, ConnectionRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        result = self.session.execute(
            update(ConnectionRow)
            .where(ConnectionRow.id.in_(candidates.scalar_subquery()))
            .values(lease_owner=worker_id, lease_until=now + lease, last_attempt_at=now)
            .returning(ConnectionRow.id, ConnectionRow.work_seq)
        )
        return [Claim(int(r[0]), int(r[1])) for r in result]

    def renew(self, worker_id: str, connection_ids: list[int], now: dt.datetime, lease: dt.timedelta) -> int:
        """Extend the leases this worker still holds; returns how many it still holds."""
        if not connection_ids:
            return 0
        result = self.session.execute(
            update(ConnectionRow)
            .where(ConnectionRow.id.in_(connection_ids), ConnectionRow.lease_owner == worker_id)
            .values(lease_until=now + lease)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def holds(self, worker_id: str, connection_id: int) -> bool:
        return (
            self.session.scalar(
                select(ConnectionRow.id).where(
                    ConnectionRow.id == connection_id, ConnectionRow.lease_owner == worker_id
                )
            )
            is not None
        )

    def release(
        self, worker_id: str, claim: Claim, now: dt.datetime, next_due: dt.datetime | None, *, pull_next: bool
    ) -> None:
        """Give the connection back. If changes arrived since the claim it is due now, else at ``next_due``.

        The request flags are not touched here (``pull_next`` only adds a pull request): the round clears the ones
        it consumed (:meth:`~calsync.store.connections.ConnectionRepository.record_round`), so a round that failed
        before its pull leaves the pull asked for."""
        changed = ConnectionRow.work_seq != claim.work_seq
        values: dict[str, Any] = {
            "lease_owner": None,
            "lease_until": None,
            "due_at": case(
                (ConnectionRow.status != ConnectionStatus.CONNECTED, None),
                (changed, now),
                else_=next_due,
            ),
        }
        if pull_next:
            values.update(pull_requested=True, pull_seq=ConnectionRow.pull_seq + 1)
        self.session.execute(
            update(ConnectionRow)
            .where(ConnectionRow.id == claim.connection_id, ConnectionRow.lease_owner == worker_id)
            .values(**values)
        )

    # ---- worker heartbeats -----------------------------------------------------------------------------------
    def heartbeat(self, worker_id: str, host: str, pid: int, now: dt.datetime, kind: str = "worker") -> None:
        values = {"id": worker_id, "host": host, "pid": pid, "started_at": now, "heartbeat_at": now, "kind": kind}
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(WorkerRow).values(**values)
        self.session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={"heartbeat_at": now}))

    def forget_worker(self, worker_id: str) -> None:
        self.session.execute(delete(WorkerRow).where(WorkerRow.id == worker_id))

    def live_workers(self, now: dt.datetime, within: dt.timedelta, kind: str = "worker") -> int:
        return int(
            self.session.scalar(
                select(func.count()).where(WorkerRow.kind == kind, WorkerRow.heartbeat_at >= now - within)
            )
            or 0
        )

    def workers(self) -> list[WorkerRow]:
        return list(self.session.scalars(select(WorkerRow).order_by(WorkerRow.started_at)))

    def reap_workers(self, now: dt.datetime, older_than: dt.timedelta) -> int:
        result = self.session.execute(delete(WorkerRow).where(WorkerRow.heartbeat_at < now - older_than))
        return int(result.rowcount)  # type: ignore[attr-defined]
