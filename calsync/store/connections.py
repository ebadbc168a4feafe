"""Connections and the connection log: the only queries on those tables (OAuth states: :mod:`.oauth_states`).

Records carry the sealed (encrypted) tokens as stored; only :mod:`calsync.sync.tokens` opens them.

The repository speaks intent (``request_full_sync``, ``mark_auth_error``, ``record_round``, ``set_channel``,
``disconnect``, ...), not "set these columns": each method is one thing that happens to a connection, so the rules
that go with it (a request bumps its counter; a round clears only the requests it consumed; an error code is a
column, not words in a reason) live in one place.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from typing import Any

from sqlalchemy import case, delete, func, null, select, update
from sqlalchemy.orm import Session

from calsync.core.connection import Connection, ConnectionStatus, Provider
from calsync.core.entry import Display
from calsync.core.validation import shorten
from calsync.store.sync_models import ConnectionLogRow, ConnectionRow, EntryRow, InstallationRow

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
    full_sync_seq: int
    resync_seq: int
    pull_seq: int
    last_full_reconcile_at: dt.datetime | None
    auth_error_code: str | None
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
class SealedTokens:
    """A grant's tokens as stored: encrypted, with the access token's expiry."""

    access_token_enc: str | None = dataclasses.field(repr=False)
    refresh_token_enc: str | None = dataclasses.field(repr=False)
    expires_at: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class RoundResult:
    """What a finished sync round records (:meth:`ConnectionRepository.record_round`)."""

    cursor: str | None = dataclasses.field(repr=False)
    calendar_id: str
    """The calendar the round worked in: stored only where none was chosen yet (the primary, found by the round)."""
    next_poll_at: dt.datetime | None
    pulled: bool
    """The round read the provider's changes (an incremental pull, or a full listing with a fresh cursor)."""
    full: bool
    clean: bool
    """No entry failed: a full round that is clean consumed the full-sync request (and the Resync) it read."""


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

    def _set(self, connection_id: int, **values: Any) -> None:
        self.session.execute(update(ConnectionRow).where(ConnectionRow.id == connection_id).values(**values))

    def _get_after(self, connection_id: int) -> ConnectionRecord:
        record = self.get(connection_id)
        if record is None:
            raise LookupError(f"connection {connection_id} vanished")
        return record

    # ---- connecting and disconnecting --------------------------------------------------------------------------
    def reconnect(
        self,
        connection_id: int,
        now: dt.datetime,
        *,
        account_email: str,
        scopes: str,
        tokens: SealedTokens,
        reason: str,
        target_calendar_id: str | None,
        target_calendar_name: str | None,
    ) -> ConnectionRecord:
        """A new grant for a connection this person had before (same account): connected again, errors gone,
        a full sync and a pull requested, due now."""
        self._set(
            connection_id,
            account_email=account_email,
            scopes=scopes,
            status=ConnectionStatus.CONNECTED,
            error_reason=None,
            error_detail=None,
            auth_error_code=None,
            connected_at=now,
            disconnected_at=None,
            cursor=None,
            attempts=0,
            access_token_enc=tokens.access_token_enc,
            refresh_token_enc=tokens.refresh_token_enc,
            token_expires_at=tokens.expires_at,
            target_calendar_id=target_calendar_id,
            target_calendar_name=target_calendar_name,
        )
        self.request_full_sync(connection_id, reason)
        self.mark_due(connection_id, now, pull=True)
        return self._get_after(connection_id)

    def disconnect(self, connection_id: int, now: dt.datetime) -> None:
        """Disconnected: no tokens, no cursor, no channel, off the work queue (also when a new connection replaces
        this one). Entries and request flags stay: a reconnect to the same account finds them."""
        self._set(
            connection_id,
            status=ConnectionStatus.DISCONNECTED,
            disconnected_at=now,
            access_token_enc=None,
            refresh_token_enc=None,
            token_expires_at=None,
            cursor=None,
            channel_id=None,
            channel_resource_id=None,
            channel_secret_hash=None,
            channel_expires_at=None,
            due_at=None,
            lease_owner=None,
            lease_until=None,
        )

    # ---- tokens ------------------------------------------------------------------------------------------------
    def store_tokens(self, connection_id: int, tokens: SealedTokens) -> ConnectionRecord:
        """A refreshed grant (Microsoft rotates the refresh token on every use)."""
        self._set(
            connection_id,
            access_token_enc=tokens.access_token_enc,
            refresh_token_enc=tokens.refresh_token_enc,
            token_expires_at=tokens.expires_at,
        )
        return self._get_after(connection_id)

    def reseal_tokens(self, connection_id: int, access_token_enc: str | None, refresh_token_enc: str | None) -> None:
        """The same tokens under the current key (key rotation)."""
        self._set(connection_id, access_token_enc=access_token_enc, refresh_token_enc=refresh_token_enc)

    def mark_auth_error(
        self, connection_id: int, now: dt.datetime, *, reason: str, detail: str, code: str | None
    ) -> None:
        """The grant is unusable: in error with the reason the person reads and the provider's ``code``, off the
        work queue, and a full sync requested for when they reconnect."""
        self._set(
            connection_id,
            status=ConnectionStatus.ERROR,
            error_reason=reason,
            error_detail=detail[:500],
            auth_error_code=code[:200] if code else None,
            last_error_at=now,
            due_at=None,
            lease_owner=None,
            lease_until=None,
        )
        self.request_full_sync(connection_id, f"authorization failed ({code or 'refused'})")

    # ---- what the person asks for ------------------------------------------------------------------------------
    def request_full_sync(self, connection_id: int, reason: str, *, resync: bool = False) -> None:
        """Ask for a full reconcile (``resync``: one that brings back entries the person deleted, the seeds'
        Resync). Each request bumps its counter, so a round already running, which read the counters before,
        leaves this request for the next round (:meth:`record_round`)."""
        values: dict[str, Any] = {
            "need_full_sync": True,
            "need_full_sync_reason": reason[:200],
            "full_sync_seq": ConnectionRow.full_sync_seq + 1,
        }
        if resync:
            values.update(resync_requested=True, resync_seq=ConnectionRow.resync_seq + 1)
        self._set(connection_id, **values)

    def set_target(self, connection_id: int, *, calendar_id: str, calendar_name: str, dedicated: bool) -> None:
        """The person picked the calendar that receives events: the place in the old one is worthless, and a full
        sync (requested with this) moves the entries."""
        self._set(
            connection_id,
            target_calendar_id=calendar_id,
            target_calendar_name=calendar_name,
            dedicated_calendar=dedicated,
            cursor=None,
        )
        self.request_full_sync(connection_id, f"calendar changed to {calendar_name!r}: entries move there")

    def set_display(self, connection_id: int, display: Display) -> None:
        """What the calendar shows of each event; the caller marks the entries (their rendering changes)."""
        self._set(connection_id, display=display.value)

    # ---- push channels -----------------------------------------------------------------------------------------
    def set_channel(
        self, connection_id: int, *, channel_id: str, resource_id: str | None, secret_hash: str, expires_at: dt.datetime
    ) -> None:
        """A watch channel / subscription opened or renewed (only the secret's hash is kept)."""
        self._set(
            connection_id,
            channel_id=channel_id,
            channel_resource_id=resource_id,
            channel_secret_hash=secret_hash,
            channel_expires_at=expires_at,
        )

    def expire_channel(self, connection_id: int, now: dt.datetime) -> None:
        """The provider wants the channel renewed: it counts as lapsing now, so the next round renews it."""
        self._set(connection_id, channel_expires_at=now)

    def clear_channel(self, connection_id: int) -> None:
        """The provider removed the channel: the next round opens a new one."""
        self._set(
            connection_id, channel_id=None, channel_resource_id=None, channel_secret_hash=None, channel_expires_at=None
        )

    # ---- sync rounds -------------------------------------------------------------------------------------------
    def record_failure(self, connection_id: int, now: dt.datetime, message: str, *, attempts: int | None) -> bool:
        """A round that failed as a whole (``attempts``: consecutive failures, None to keep the count). Only for a
        connected connection; returns whether it was."""
        values: dict[str, Any] = {"last_error_at": now, "error_detail": shorten(message, 500)}
        if attempts is not None:
            values["attempts"] = attempts
        result = self.session.execute(
            update(ConnectionRow)
            .where(ConnectionRow.id == connection_id, ConnectionRow.status == ConnectionStatus.CONNECTED)
            .values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def record_round(self, read: ConnectionRecord, now: dt.datetime, result: RoundResult) -> None:
        """A round finished (its entries may have failed one by one). ``read`` is the row as the round read it
        at its start: a request flag is cleared only if its counter still has the value read there, so a Resync,
        a full-sync request or a notification that arrived while the round ran is kept for the next round (one
        UPDATE: compare-and-set in the database, no window between the check and the write)."""
        row = ConnectionRow
        same_full = row.full_sync_seq == read.full_sync_seq
        values: dict[str, Any] = {
            # A cursor taken before a full sync was requested (a new target calendar) is not the place to go on.
            "cursor": case((same_full, result.cursor), else_=row.cursor),
            "target_calendar_id": func.coalesce(row.target_calendar_id, result.calendar_id),
            "last_success_at": now,
            "attempts": 0,
            "next_poll_at": result.next_poll_at,
        }
        if result.pulled:
            values["pull_requested"] = case((row.pull_seq == read.pull_seq, False), else_=row.pull_requested)
        if result.full:
            values["last_full_reconcile_at"] = now
        if result.full and result.clean:
            values["need_full_sync"] = case((same_full, False), else_=row.need_full_sync)
            values["need_full_sync_reason"] = case((same_full, null()), else_=row.need_full_sync_reason)
            values["resync_requested"] = case((row.resync_seq == read.resync_seq, False), else_=row.resync_requested)
        if result.clean:
            values["error_detail"] = case((row.status == ConnectionStatus.CONNECTED, null()), else_=row.error_detail)
        self._set(read.id, **values)

    def mark_due(self, connection_id: int, now: dt.datetime, *, pull: bool = False) -> None:
        """Make the connection due now and count the change (a worker holding it will go round again); ``pull``:
        the next round reads the provider's changes (a push notification; counted, see :meth:`record_round`)."""
        values: dict[str, Any] = {"due_at": now, "work_seq": ConnectionRow.work_seq + 1}
        if pull:
            values.update(pull_requested=True, pull_seq=ConnectionRow.pull_seq + 1)
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
