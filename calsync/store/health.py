"""The installation-wide facts that readiness and the metrics read: connections by state, the oldest change not yet
in its calendar, worker heartbeats, the schema revision. Read-only, cheap aggregate queries."""

from __future__ import annotations

import datetime as dt

from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from calsync.core.connection import ConnectionStatus
from calsync.metrics import InstallationSnapshot
from calsync.store.sync_models import ConnectionRow, EntryRow, WorkerRow


def ping(session: Session) -> None:
    session.execute(text("SELECT 1"))


def schema_revision(session: Session) -> str | None:
    """The Alembic revision the database is at (None: never migrated)."""
    return MigrationContext.configure(session.connection()).get_current_revision()


def newest_heartbeat(session: Session) -> dt.datetime | None:
    return session.scalar(select(func.max(WorkerRow.heartbeat_at)))


def snapshot(session: Session, now: dt.datetime, live_within: dt.timedelta) -> InstallationSnapshot:
    rows = session.execute(
        select(ConnectionRow.provider, ConnectionRow.status, func.count()).group_by(
            ConnectionRow.provider, ConnectionRow.status
        )
    ).all()
    connections = {(p.value, s.value): int(n) for p, s, n in rows}
    oldest = session.scalar(  # on connected calendars only: one in error waits for its person, not for calsync
        select(func.min(EntryRow.dirty_since))
        .join(ConnectionRow, ConnectionRow.id == EntryRow.connection_id)
        .where(EntryRow.dirty.is_(True), ConnectionRow.status == ConnectionStatus.CONNECTED)
    )
    newest = newest_heartbeat(session)
    live = int(session.scalar(select(func.count()).where(WorkerRow.heartbeat_at >= now - live_within)) or 0)
    return InstallationSnapshot(
        connections=connections,
        oldest_unsynced_age=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        live_workers=live,
        newest_heartbeat_age=max(0.0, (now - newest).total_seconds()) if newest else None,
    )
