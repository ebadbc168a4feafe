"""Domain changes a unit of work records, for whoever must react in the same transaction.

Every change to an event or an RSVP goes through a service function that records one of these on its unit of work.
Before the transaction commits, the unit of work hands the list to :func:`calsync.store.outbox.mark_changed`
(a no-op until calendar sync exists), so the sync issue can mark the affected connections due *in the same
transaction* as the change: no change is ever lost between the write and the marking (design.md §3, "level-
triggered work").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from calsync.core.model import RsvpSource, RsvpStatus


class EventChangeKind(str, Enum):
    CREATED = "created"
    UPDATED = "updated"
    CANCELLED = "cancelled"
    INVITED = "invited"


@dataclass(frozen=True, slots=True)
class EventChanged:
    """An event was created, edited, cancelled, or got new invitees (``person_ids`` then names them)."""

    organization_id: int
    event_id: int
    version: int
    kind: EventChangeKind
    person_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class RsvpChanged:
    """One person's RSVP to one event changed (or was created by an invitation or a first answer)."""

    organization_id: int
    event_id: int
    person_id: int
    rsvp_id: int
    status: RsvpStatus
    source: RsvpSource
    version: int


Change = EventChanged | RsvpChanged
