"""Entries (the last-synced leg per connection and event): the only queries on that table."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from calsync.core.plan import Synced
from calsync.store.sync_models import EntryRow


@dataclasses.dataclass(frozen=True)
class EntryRecord:
    id: int
    connection_id: int
    event_id: int
    synced: Synced
    dirty: bool
    change_seq: int
    dirty_since: dt.datetime | None
    last_error: str | None
    last_attempt_at: dt.datetime | None
    updated_at: dt.datetime
    synced_at: dt.datetime | None = None
    """When calsync last wrote or confirmed the entry in the calendar."""
    synced_via: str | None = None
    """``push``, ``poll`` or ``resync`` (:data:`SYNC_VIA`)."""


def _record(row: EntryRow) -> EntryRecord:
    synced = Synced(
        provider_id=row.provider_id,
        calendar_id=row.calendar_id,
        etag=row.etag,
        fingerprint=row.fingerprint,
        response=row.response,
        rsvp_version=row.rsvp_version,
        tombstone=row.tombstone,
        create_pending=row.create_pending,
        delete_pending=bool(row.delete_pending),
        changed_unseen=bool(row.changed_unseen),
        generation=row.generation,
    )
    return EntryRecord(
        row.id,
        row.connection_id,
        row.event_id,
        synced,
        row.dirty,
        row.change_seq or 0,
        row.dirty_since,
        row.last_error,
        row.last_attempt_at,
        row.updated_at,
        row.synced_at,
        row.synced_via,
    )


def _apply(row: EntryRow, fields: dict[str, Any], now: dt.datetime, clean_seq: int | None) -> None:
    """Set ``fields`` on a loaded row; with ``clean_seq``, also clear its mark in the same UPDATE, conditionally
    on ``change_seq`` (a SQL ``CASE``). One UPDATE per row and transaction: a second UPDATE of a row this
    transaction already changed makes PostgreSQL re-check its foreign keys (``FOR KEY SHARE`` on the event),
    which deadlocked with an RSVP change holding that event (tests/engine/test_worker_processes.py)."""
    for name, value in fields.items():
        setattr(row, name, value)
    row.updated_at = now
    if clean_seq is not None:
        unchanged = EntryRow.change_seq == clean_seq
        row.dirty = case((unchanged, False), else_=EntryRow.dirty)
        row.dirty_since = case((unchanged, None), else_=EntryRow.dirty_since)


SYNC_VIA = ("push", "poll", "resync")
"""How an entry was last synced: a change made in calsync sent to the calendar (push), a change read from the
calendar in a pull (poll), or a full reconcile (resync: connecting, Resync, recovery)."""


def _synced_fields(
    synced: Synced, now: dt.datetime, last_error: str | None, via: str | None = None
) -> dict[str, Any]:
    """The columns of a recorded leg; with ``via``, also "last synced" when the entry is settled in the calendar
    (written, no write-ahead open, no error)."""
    settled = synced.provider_id and not synced.create_pending and not synced.delete_pending
    extra: dict[str, Any] = {}
    if via is not None and last_error is None and settled:
        extra = {"synced_at": now, "synced_via": via}
    return dict(
        **extra,
        provider_id=synced.provider_id,
        calendar_id=synced.calendar_id,
        etag=synced.etag,
        fingerprint=synced.fingerprint,
        response=synced.response,
        rsvp_version=synced.rsvp_version,
        tombstone=synced.tombstone,
        create_pending=synced.create_pending,
        delete_pending=synced.delete_pending,
        changed_unseen=synced.changed_unseen,
        generation=synced.generation,
        last_error=last_error,
        last_attempt_at=now,
    )


class EntryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, connection_id: int, event_id: int) -> EntryRecord | None:
        row = self.session.scalar(
            select(EntryRow).where(EntryRow.connection_id == connection_id, EntryRow.event_id == event_id)
        )
        return None if row is None else _record(row)

    def for_events(self, connection_id: int, event_ids: list[int]) -> dict[int, EntryRecord]:
        """Several entries of one connection at once, by event id."""
        if not event_ids:
            return {}
        rows = self.session.scalars(
            select(EntryRow).where(EntryRow.connection_id == connection_id, EntryRow.event_id.in_(event_ids))
        )
        return {row.event_id: _record(row) for row in rows}

    def for_connection(self, connection_id: int, *, dirty_only: bool = False) -> list[EntryRecord]:
        query = select(EntryRow).where(EntryRow.connection_id == connection_id)
        if dirty_only:
            query = query.where(EntryRow.dirty.is_(True))
        return [_record(r) for r in self.session.scalars(query.order_by(EntryRow.event_id))]

    def by_provider_ids(self, connection_id: int, provider_ids: list[str]) -> list[EntryRecord]:
        if not provider_ids:
            return []
        rows = self.session.scalars(
            select(EntryRow).where(EntryRow.connection_id == connection_id, EntryRow.provider_id.in_(provider_ids))
        )
        return [_record(r) for r in rows]

    def mapped(self, connection_id: int) -> list[EntryRecord]:
        """Entries that exist at the provider as far as calsync knows."""
        rows = self.session.scalars(
            select(EntryRow).where(EntryRow.connection_id == connection_id, EntryRow.provider_id.is_not(None))
        )
        return [_record(r) for r in rows]

    def save(
        self, connection_id: int, event_id: int, now: dt.datetime, *, clean_seq: int | None = None, **fields: Any
    ) -> EntryRecord:
        """Insert or update the entry of (connection, event); the unique pair makes a second row impossible.
        With ``clean_seq``, the same UPDATE clears the dirty mark unless it was marked again since that sequence
        was read (see :func:`_apply`)."""
        row = self.session.scalar(
            select(EntryRow).where(EntryRow.connection_id == connection_id, EntryRow.event_id == event_id)
        )
        if row is None:
            row = EntryRow(connection_id=connection_id, event_id=event_id, updated_at=now, **fields)
            if clean_seq is not None:
                row.dirty, row.dirty_since = False, None
            self.session.add(row)
        else:
            _apply(row, fields, now, clean_seq)
        self.session.flush()
        return _record(row)

    def mark_dirty(self, connection_id: int, event_ids: list[int] | None, now: dt.datetime) -> None:
        """Flag entries for the next round (all of a connection's when ``event_ids`` is None), creating rows
        for events that have none yet. ``change_seq`` grows so an in-flight round cannot clear this mark."""
        query = update(EntryRow).where(EntryRow.connection_id == connection_id)
        if event_ids is not None:
            existing = set(
                self.session.scalars(
                    select(EntryRow.event_id).where(
                        EntryRow.connection_id == connection_id, EntryRow.event_id.in_(event_ids)
                    )
                )
            )
            for event_id in sorted(set(event_ids) - existing):
                self.session.add(
                    EntryRow(
                        connection_id=connection_id, event_id=event_id, updated_at=now, dirty=True, dirty_since=now
                    )
                )
            query = query.where(EntryRow.event_id.in_(event_ids))
        self.session.execute(
            query.values(
                dirty=True,
                change_seq=EntryRow.change_seq + 1,
                dirty_since=func.coalesce(EntryRow.dirty_since, now),
            )
        )
        self.session.flush()

    def save_synced(
        self,
        connection_id: int,
        event_id: int,
        synced: Synced,
        now: dt.datetime,
        *,
        last_error: str | None = None,
        clean_seq: int | None = None,
        via: str | None = None,
    ) -> None:
        """Record the last-synced leg of one entry (the engine's only write to entries)."""
        fields = _synced_fields(synced, now, last_error, via)
        self.save(connection_id, event_id, now, clean_seq=clean_seq, **fields)

    def save_synced_many(
        self,
        connection_id: int,
        legs: dict[int, Synced],
        now: dt.datetime,
        *,
        seen: dict[int, int] | None = None,
        via: dict[int, str] | None = None,
    ) -> None:
        """:meth:`save_synced` for several entries of one connection: one query loads their rows, one flush
        writes them (a batch's write-aheads, and its records; with ``seen``, clearing their marks as it goes)."""
        if not legs:
            return
        rows = {
            row.event_id: row
            for row in self.session.scalars(
                select(EntryRow).where(EntryRow.connection_id == connection_id, EntryRow.event_id.in_(list(legs)))
            )
        }
        for event_id, synced in legs.items():
            fields = _synced_fields(synced, now, None, (via or {}).get(event_id))
            clean_seq = None if seen is None else seen.get(event_id)
            row = rows.get(event_id)
            if row is None:
                row = EntryRow(connection_id=connection_id, event_id=event_id, updated_at=now, **fields)
                if clean_seq is not None:
                    row.dirty, row.dirty_since = False, None
                self.session.add(row)
                continue
            _apply(row, fields, now, clean_seq)
        self.session.flush()

    def any_unseen(self, connection_id: int) -> bool:
        """Whether any entry of the connection carries ``changed_unseen`` (an idle poll then stays read-only)."""
        query = select(EntryRow.id).where(EntryRow.connection_id == connection_id, EntryRow.changed_unseen.is_(True))
        return self.session.scalar(query.limit(1)) is not None

    def confirm_seen(self, connection_id: int, reported: list[str]) -> int:
        """An incremental pull just ran to its end: every mapped entry it did not report is unchanged, so still
        there, and a platform change that needed no write is now known to postdate any later deletion."""
        query = update(EntryRow).where(
            EntryRow.connection_id == connection_id,
            EntryRow.changed_unseen.is_(True),
            EntryRow.provider_id.is_not(None),
        )
        if reported:
            query = query.where(EntryRow.provider_id.not_in(reported))
        result = self.session.execute(query.values(changed_unseen=False))
        return int(result.rowcount)  # type: ignore[attr-defined]

    def remove(self, connection_id: int, event_ids: list[int]) -> None:
        if event_ids:
            self.session.execute(
                delete(EntryRow).where(EntryRow.connection_id == connection_id, EntryRow.event_id.in_(event_ids))
            )
