"""The seam between a change and calendar sync: called inside the transaction that made the change.

:class:`calsync.services.uow.UnitOfWork` calls every hook in :attr:`calsync.store.db.Database.change_hooks` with
the session and the changes it recorded, just before it commits. :func:`mark_changed` is the default hook and does
nothing yet. The calendar-sync issue fills it in: for each :class:`~calsync.core.changes.EventChanged` /
:class:`~calsync.core.changes.RsvpChanged`, mark the affected (connection, event) entries dirty and their
connections due, with plain INSERT/UPDATEs on ``session`` so the marking commits or rolls back with the change
(design.md §3: "marks work due in the same transaction").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from calsync.core.changes import Change

ChangeHook = Callable[[Session, Sequence[Change]], None]


def mark_changed(session: Session, changes: Sequence[Change]) -> None:
    """Mark the connections affected by ``changes`` due. No calendar connections exist yet: nothing to mark."""
    del session, changes
