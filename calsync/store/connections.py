"""Connections, OAuth states and the connection log: the only queries on those tables.

Records carry the sealed (encrypted) tokens as stored; only :mod:`calsync.sync.tokens` opens them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from calsync.core.connection import Connection, ConnectionStatus, Provider
from calsync.core.entry import Display
from calsync.store.sync_models import ConnectionLogRow, ConnectionRow, EntryRow, InstallationRow, OAuthStateRow

LOG_KEEP = 200
"""Log lines kept per connection: enough for "what happened lately", bounded so the table cannot grow forever."""


@dataclasses.dataclass(frozen=True)
class ConnectionRecord:
    """Everything stored about a connection, tokens still sealed."""

    id: int
    person_id: int
    organization_id: int
    provider: Provider
    account_email: str
    account_id: str
    scopes: str
    status: ConnectionStatus
    error_reason: str | None
    error_detail: str | None
    need_full_sync: bool
    need_full_sync_reason: str | None
    resync_requested: bool
    connected_at: dt.datetime
    disconnected_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_error_at: dt.datetime | None
    target_calendar_id: str | None
    target_calendar_name: str | None
    dedicated_calendar: bool
    access_token_enc: str | None = dataclasses.field(repr=False)
    refresh_token_enc: str | None = dataclasses.field(repr=False)
    token_expires_at: dt.datetime | None
    cursor: str | None = dataclasses.field(repr=False)
    channel_id: str | None
    channel_resource_id: str | None
    channel_secret_hash: str | None = dataclasses.field(repr=False)
    channel_expires_at: dt.datetime | None
    due_at: dt.datetime | None
    pull_requested: bool
    work_seq: int
    lease_owner: str | None
    lease_until: dt.datetime | None
    attempts: int
    next_poll_at: dt.datetime | None
    display: str = "full"
    """A :class:`calsync.core.entry.Display` value: what the calendar shows of each event."""

    def view(self, pending_changes: int = 0) -> Connection:
        """The token-free domain value the API and pages show."""
        return Connection(
            id=self.id,
            person_id=self.person_id,
            organization_id=self.organization_id,
            provider=self.provider,
            account_email=self.account_email,
            status=self.status,
            error_reason=self.error_reason,
            need_full_sync=self.need_full_sync,
            need_full_sync_reason=self.need_full_sync_reason,
            target_calendar_id=self.target_calendar_id,
            target_calendar_name=self.target_calendar_name,
            dedicated_calendar=self.dedicated_calendar,
            scopes=tuple(self.scopes.split()),
            connected_at=self.connected_at,
            disconnected_at=self.disconnected_at,
            last_success_at=self.last_success_at,
            last_attempt_at=self.last_attempt_at,
            last_error_at=self.last_error_at,
            pending_changes=pending_changes,
            channel_expires_at=self.channel_expires_at,
            display=Display(self.display),
        )


_FIELDS = [f.name for f in dataclasses.fields(ConnectionRecord)]


def _record(row: ConnectionRow) -> ConnectionRecord:
    return ConnectionRecord(**{name: getattr(row, name) for name in _FIELDS})


@dataclasses.dataclass(frozen=True)
class OAuthState:
    id: int
    person_id: int
    provider: Provider
    binding_hash: str
    flow_secret_enc: str = dataclasses.field(repr=False)
    redirect_uri: str
    expires_at: dt.datetime
    used_at: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class LogLine:
    at: dt.datetime
    level: str
    action: str
    event_id: int | None
    message: str
    lag_ms: int | None = None


class InstallationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def installation_id(self, now: dt.datetime) -> str:
        """This installation's stable id, created on first use (16 hex chars)."""
        row = self.session.scalar(select(InstallationRow).where(InstallationRow.id == 1))
        if row is None:
            row = InstallationRow(id=1, installation_id=secrets.token_hex(8), created_at=now)
            self.session.add(row)
            self.session.flush()
        return row.installation_id


class ConnectionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _row(self, connection_id: int, *, for_update: bool = False) -> ConnectionRow | None:
        query = select(ConnectionRow).where(ConnectionRow.id == connection_id)
        if for_update:
            query = query.with_for_update()
        return self.session.scalar(query)

    def get(self, connection_id: int, *, for_update: bool = False) -> ConnectionRecord | None:
        row = self._row(connection_id, for_update=for_update)
        return None if row is None else _record(row)

    def active_for_person(self, person_id: int, *, for_update: bool = False) -> ConnectionRecord | None:
        query = select(ConnectionRow).where(
            ConnectionRow.person_id == person_id, ConnectionRow.status != ConnectionStatus.DISCONNECTED
        )
        if for_update:
            query = query.with_for_update()
        row = self.session.scalar(query)
        return None if row is None else _record(row)

    def latest_for_person(self, person_id: int) -> ConnectionRecord | None:
        """The active connection, else the most recently disconnected one (for "you disconnected on ...")."""
        active = self.active_for_person(person_id)
        if active is not None:
            return active
        row = self.session.scalar(
            select(ConnectionRow)
            .where(ConnectionRow.person_id == person_id)
            .order_by(ConnectionRow.disconnected_at.desc(), ConnectionRow.id.desc())
            .limit(1)
        )
        return None if row is None else _record(row)

    def find_account(self, person_id: int, provider: Provider, account_id: str) -> ConnectionRecord | None:
        row = self.session.scalar(
            select(ConnectionRow).where(
                ConnectionRow.person_id == person_id,
                ConnectionRow.provider == provider,
                ConnectionRow.account_id == account_id,
            )
        )
        return None if row is None else _record(row)

    def by_channel(self, channel_id: str) -> ConnectionRecord | None:
        row = self.session.scalar(select(ConnectionRow).where(ConnectionRow.channel_id == channel_id))
        return None if row is None else _record(row)

    def create(self, **fields: Any) -> ConnectionRecord:
        row = ConnectionRow(**fields)
        self.session.add(row)
        self.session.flush()
        return _record(row)

    def update(self, connection_id: int, **fields: Any) -> ConnectionRecord:
        """Set columns by name (unknown names fail loudly: they are attribute errors on the row)."""
        row = self._row(connection_id)
        if row is None:
            raise LookupError(f"connection {connection_id} vanished")
        for name, value in fields.items():
            if name not in _FIELDS:
                raise AttributeError(f"connections has no column {name!r}")
            setattr(row, name, value)
        self.session.flush()
        return _record(row)

    def mark_due(self, connection_id: int, now: dt.datetime, *, pull: bool = False) -> None:
        """Make the connection due now and count the change (a worker holding it will go round again)."""
        values: dict[str, Any] = {"due_at": now, "work_seq": ConnectionRow.work_seq + 1}
        if pull:
            values["pull_requested"] = True
        self.session.execute(
            update(ConnectionRow)
            .where(ConnectionRow.id == connection_id, ConnectionRow.status == ConnectionStatus.CONNECTED)
            .values(**values)
        )

    def all(self, *, status: ConnectionStatus | None = None) -> list[ConnectionRecord]:
        """Every connection of the installation, across organizations, in id order (operators' overviews)."""
        query = select(ConnectionRow)
        if status is not None:
            query = query.where(ConnectionRow.status == status)
        return [_record(r) for r in self.session.scalars(query.order_by(ConnectionRow.id))]

    def in_organization(self, organization_id: int, status: ConnectionStatus | None = None) -> list[ConnectionRecord]:
        query = select(ConnectionRow).where(ConnectionRow.organization_id == organization_id)
        if status is not None:
            query = query.where(ConnectionRow.status == status)
        return [_record(r) for r in self.session.scalars(query.order_by(ConnectionRow.id))]

    def all_sealed_tokens(self) -> list[tuple[int, str | None, str | None]]:
        """(id, access, refresh) ciphertexts of every connection holding tokens (key rotation)."""
        rows = self.session.execute(
            select(ConnectionRow.id, ConnectionRow.access_token_enc, ConnectionRow.refresh_token_enc).where(
                (ConnectionRow.access_token_enc.is_not(None)) | (ConnectionRow.refresh_token_enc.is_not(None))
            )
        )
        return [(int(r[0]), r[1], r[2]) for r in rows]

    def pending_changes(self, connection_id: int) -> int:
        return int(
            self.session.scalar(
                select(func.count()).where(EntryRow.connection_id == connection_id, EntryRow.dirty.is_(True))
            )
            or 0
        )

    # ---- the log ----------------------------------------------------------------------------------------------
    def log(
        self,
        connection_id: int,
        now: dt.datetime,
        action: str,
        message: str,
        *,
        level: str = "info",
        event_id: int | None = None,
        lag_ms: int | None = None,
    ) -> None:
        """Append one line (never a secret: callers pass human text and provider error codes only)."""
        self.session.add(
            ConnectionLogRow(
                connection_id=connection_id,
                at=now,
                level=level,
                action=action,
                event_id=event_id,
                message=message[:2000],
                lag_ms=lag_ms,
            )
        )
        self.session.flush()
        cutoff = self.session.scalar(
            select(ConnectionLogRow.id)
            .where(ConnectionLogRow.connection_id == connection_id)
            .order_by(ConnectionLogRow.id.desc())
            .offset(LOG_KEEP)
            .limit(1)
        )
        if cutoff is not None:
            self.session.execute(
                delete(ConnectionLogRow).where(
                    ConnectionLogRow.connection_id == connection_id, ConnectionLogRow.id <= cutoff
                )
            )

    def recent_log(self, connection_id: int, limit: int = 20, *, level: str | None = None) -> list[LogLine]:
        query = select(ConnectionLogRow).where(ConnectionLogRow.connection_id == connection_id)
        if level:
            query = query.where(ConnectionLogRow.level == level)
        rows = self.session.scalars(query.order_by(ConnectionLogRow.id.desc()).limit(limit))
        return [LogLine(r.at, r.level, r.action, r.event_id, r.message, r.lag_ms) for r in rows]

    # ---- OAuth states ------------------------------------------------------------------------------------------
    def add_state(self, **fields: Any) -> None:
        self.session.add(OAuthStateRow(**fields))
        self.session.flush()

    def take_state(self, state_hash: str) -> OAuthState | None:
        row = self.session.scalar(select(OAuthStateRow).where(OAuthStateRow.state_hash == state_hash).with_for_update())
        if row is None:
            return None
        return OAuthState(
            row.id,
            row.person_id,
            row.provider,
            row.binding_hash,
            row.flow_secret_enc,
            row.redirect_uri,
            row.expires_at,
            row.used_at,
        )

    def use_state(self, state_id: int, now: dt.datetime) -> bool:
        """Mark a state used; False if another request used it first (one-time, even under a race)."""
        result = self.session.execute(
            update(OAuthStateRow)
            .where(OAuthStateRow.id == state_id, OAuthStateRow.used_at.is_(None))
            .values(used_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def purge_states(self, now: dt.datetime) -> None:
        self.session.execute(delete(OAuthStateRow).where(OAuthStateRow.expires_at < now - dt.timedelta(days=1)))
