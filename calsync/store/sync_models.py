"""Tables for calendar connections and sync: connections, OAuth states, entries, the connection log, workers.

A **connection** row is also the unit of sync work: ``due_at`` says when a worker should look at it, ``work_seq``
grows with every change that makes it due (so a worker that finishes knows whether more arrived meanwhile), and
``lease_owner``/``lease_until`` say which worker holds it (design.md §3, "Level-triggered work"). The request
flags (``need_full_sync``, ``resync_requested``, ``pull_requested``) each have a counter, so a round clears only
the requests it consumed (migration ``0005``). An **entry** is
the last-synced leg of the three-way state for one (connection, event); the unique pair is what makes a second
entry for the same event impossible on calsync's side. Rows survive a disconnect (only tokens are deleted), so a
reconnect to the same account finds its entries again instead of duplicating them (peer lesson: clearing
mappings on disconnect causes duplicates).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from calsync.core.connection import ConnectionStatus, Provider
from calsync.core.model import RsvpStatus
from calsync.store.models import Base, _enum
from calsync.store.types import UTCDateTime


class InstallationRow(Base):
    """One row: this installation's stable identity, part of every entry key (never changes)."""

    __tablename__ = "installation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    installation_id: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ConnectionRow(Base):
    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    provider: Mapped[Provider] = mapped_column(_enum(Provider, "provider"))
    account_email: Mapped[str] = mapped_column(String(320))
    account_id: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ConnectionStatus] = mapped_column(_enum(ConnectionStatus, "connection_status"))
    error_reason: Mapped[str | None] = mapped_column(Text)
    error_detail: Mapped[str | None] = mapped_column(Text)
    need_full_sync: Mapped[bool] = mapped_column(Boolean, default=True)
    need_full_sync_reason: Mapped[str | None] = mapped_column(String(200))
    resync_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    full_sync_seq: Mapped[int] = mapped_column(Integer, default=0)
    """Grows with every full-sync request (``need_full_sync`` set); a round clears the flag only if it still has
    the value the round read, so a request that arrived meanwhile stays for the next round. ``resync_seq`` and
    ``pull_seq`` do the same for ``resync_requested`` and ``pull_requested``."""
    resync_seq: Mapped[int] = mapped_column(Integer, default=0)
    pull_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_full_reconcile_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    auth_error_code: Mapped[str | None] = mapped_column(String(200))
    """The provider's code (or HTTP status) of the authorization failure that put the connection in error."""
    connected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    disconnected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    target_calendar_id: Mapped[str | None] = mapped_column(String(1024))
    target_calendar_name: Mapped[str | None] = mapped_column(String(300))
    dedicated_calendar: Mapped[bool] = mapped_column(Boolean, default=False)
    display: Mapped[str] = mapped_column(String(20), default="full", server_default="full")
    """What the calendar shows of each event (core.entry.Display values; migration 0010)."""
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cursor: Mapped[str | None] = mapped_column(Text)
    channel_id: Mapped[str | None] = mapped_column(String(200), index=True)
    channel_resource_id: Mapped[str | None] = mapped_column(String(200))
    channel_secret_hash: Mapped[str | None] = mapped_column(String(64))
    channel_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    pull_requested: Mapped[bool] = mapped_column(Boolean, default=True)
    work_seq: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_poll_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        # One active connection per person, on both backends (partial unique index).
        Index(
            "uq_connections_active_person",
            "person_id",
            unique=True,
            sqlite_where=text("status != 'disconnected'"),
            postgresql_where=text("status != 'disconnected'"),
        ),
        Index("ix_connections_due", "status", "due_at"),
    )


class OAuthStateRow(Base):
    """A one-time OAuth ``state``: bound to the person and their browser, expires in 10 minutes (RFC 9700)."""

    __tablename__ = "oauth_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    provider: Mapped[Provider] = mapped_column(_enum(Provider, "provider"))
    binding_hash: Mapped[str] = mapped_column(String(64))
    flow_secret_enc: Mapped[str] = mapped_column(Text)
    redirect_uri: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class EntryRow(Base):
    """The last-synced leg for one (connection, event)."""

    __tablename__ = "entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[str | None] = mapped_column(String(1024))
    calendar_id: Mapped[str | None] = mapped_column(String(1024))
    etag: Mapped[str | None] = mapped_column(String(200))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    response: Mapped[RsvpStatus | None] = mapped_column(_enum(RsvpStatus, "rsvp_status"))
    rsvp_version: Mapped[int | None] = mapped_column(Integer)
    tombstone: Mapped[bool] = mapped_column(Boolean, default=False)
    create_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    delete_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_unseen: Mapped[bool] = mapped_column(Boolean, default=False)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    dirty: Mapped[bool] = mapped_column(Boolean, default=True)
    change_seq: Mapped[int] = mapped_column(Integer, default=0)
    dirty_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    """When the entry was first marked after its last clean sync: the start of its sync lag."""
    """Grows with every mark; a round clears ``dirty`` only if the value it read is still current."""
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    """When calsync last wrote or confirmed this entry in the calendar (the event page's "last synced")."""
    synced_via: Mapped[str | None] = mapped_column(String(10))
    """How: ``push`` (a change made in calsync sent), ``poll`` (a change read from the calendar), ``resync``."""

    __table_args__ = (
        UniqueConstraint("connection_id", "event_id"),
        Index("ix_entries_connection_provider_id", "connection_id", "provider_id"),
        Index("ix_entries_connection_dirty", "connection_id", "dirty"),
    )


class ConnectionLogRow(Base):
    """A short log of recent operations and errors per connection, for status and diagnosis (trimmed)."""

    __tablename__ = "connection_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    level: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    lag_ms: Mapped[int | None] = mapped_column(Integer)
    """For a sync round: the longest wait, among the entries it wrote, from the change to the calendar write."""

    __table_args__ = (Index("ix_connection_log_connection_at", "connection_id", "at"),)


class WorkerRow(Base):
    """A live worker process (heartbeat), so quotas can be shared and dead leases reaped."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(20), default="worker")
