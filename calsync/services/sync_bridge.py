"""What the sync engine needs from the platform, supplied from above (the engine may not import services).

An answer given in a calendar becomes the person's RSVP through :func:`calsync.services.rsvps.set_rsvp`, the
one place an RSVP changes, with the provider as its ``source`` ("set by the external calendar", issue 5). It is
conditional on the RSVP still being at the version the engine planned with, so a change the person made in the
platform meanwhile is never overwritten (the platform wins a conflict).
"""

from __future__ import annotations

from calsync.core.model import EventStatus, RsvpSource, RsvpStatus
from calsync.services.context import ServiceContext
from calsync.services.rsvps import set_rsvp
from calsync.services.uow import unit_of_work
from calsync.store.connections import ConnectionRecord
from calsync.sync.engine import AnswerAdopterFor


def answer_adopter(ctx: ServiceContext) -> AnswerAdopterFor:
    def adopt(conn: ConnectionRecord, event_id: int, status: RsvpStatus, expected_version: int | None) -> int | None:
        with unit_of_work(ctx.db) as uow:
            event = uow.events.get(conn.organization_id, event_id, for_update=True)
            if event is None or event.status is EventStatus.CANCELLED:
                return None
            current = uow.rsvps.get(event_id, conn.person_id, for_update=True)
            if current is None or current.version != expected_version:
                return None
            return set_rsvp(uow, event, conn.person_id, status, RsvpSource(conn.provider.value), ctx.now()).version

    return adopt
