"""The seam between a change and calendar sync: called inside the transaction that made the change.

:class:`calsync.services.uow.UnitOfWork` calls every hook in :attr:`calsync.store.db.Database.change_hooks` with
the session and the changes it recorded, just before it commits. :func:`mark_changed` marks the affected
(connection, event) entries dirty and their connections due with plain INSERT/UPDATEs on that session, so the
marking commits or rolls back with the change (design.md §3: "marks work due in the same transaction"): no
change is ever lost between the write and the marking, and ten changes before a worker gets there cost one
reconcile.

- An RSVP change marks the person's active connection. When the change came *from* that connection's
  calendar (``source`` google/microsoft, set by the engine when it adopts an answer), nothing is marked: the
  engine records that answer itself, and marking would only echo it back.
- An event edit or cancellation marks the connection of everyone with an RSVP to the event.
- Creating an event or inviting people (needs-action RSVPs) shows nothing in anyone's calendar: no marking.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.core.changes import Change, EventChanged, EventChangeKind, RsvpChanged
from calsync.core.connection import ConnectionStatus
from calsync.store.models import RsvpRow
from calsync.store.sync_models import ConnectionRow

ChangeHook = Callable[[Session, Sequence[Change]], None]

_SHOWN_IN_CALENDARS = frozenset({EventChangeKind.UPDATED, EventChangeKind.CANCELLED})


def mark_changed(session: Session, changes: Sequence[Change]) -> None:
    """Mark the connections (and entries) affected by ``changes`` due, on the caller's session."""
    from calsync.store.connections import ConnectionRepository
    from calsync.store.entries import EntryRepository

    clock = session.info.get("clock")
    now = clock() if clock is not None else dt.datetime.now(dt.UTC)
    targets: dict[int, set[int]] = {}  # connection id -> event ids
    for change in changes:
        if isinstance(change, RsvpChanged):
            row = session.execute(
                select(ConnectionRow.id, ConnectionRow.provider).where(
                    ConnectionRow.person_id == change.person_id, ConnectionRow.status == ConnectionStatus.CONNECTED
                )
            ).first()
            if row is not None and row[1].value != change.source.value:
                targets.setdefault(int(row[0]), set()).add(change.event_id)
        elif isinstance(change, EventChanged) and change.kind in _SHOWN_IN_CALENDARS:
            rows = session.execute(
                select(ConnectionRow.id)
                .join(RsvpRow, RsvpRow.person_id == ConnectionRow.person_id)
                .where(RsvpRow.event_id == change.event_id, ConnectionRow.status == ConnectionStatus.CONNECTED)
            )
            for (connection_id,) in rows:
                targets.setdefault(int(connection_id), set()).add(change.event_id)
    if not targets:
        return
    entries, connections = EntryRepository(session), ConnectionRepository(session)
    for connection_id, event_ids in sorted(targets.items()):
        entries.mark_dirty(connection_id, sorted(event_ids), now)
        connections.mark_due(connection_id, now)
