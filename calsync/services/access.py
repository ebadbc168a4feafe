"""Checks every service operation starts with: the caller's organization, its Events module, their role."""

from __future__ import annotations

from calsync.core.model import Event, Organization, Principal
from calsync.errors import FeatureDisabled, NotFound, PermissionDenied
from calsync.services.uow import UnitOfWork

EVENTS_OFF = "Calendar sync and events need the Events module; ask your administrator to turn it on"


def organization_of(uow: UnitOfWork, actor: Principal) -> Organization:
    organization = uow.organizations.get(actor.organization_id)
    if organization is None:  # the person was authenticated a moment ago; their organization must exist
        raise NotFound("your organization no longer exists")
    return organization


def require_events(uow: UnitOfWork, actor: Principal) -> Organization:
    """The caller's organization, if its Events module is on (seeds: "This feature requires the Events module")."""
    organization = organization_of(uow, actor)
    if not organization.events_enabled:
        raise FeatureDisabled(EVENTS_OFF)
    return organization


def event_in_org(uow: UnitOfWork, actor: Principal, event_id: int, *, for_update: bool = False) -> Event:
    """The event if it is in the caller's organization; otherwise :class:`NotFound` (never 'forbidden')."""
    event = uow.events.get(actor.organization_id, event_id, for_update=for_update)
    if event is None:
        raise NotFound(f"no event with id {event_id} in your organization")
    return event


def deny(message: str) -> PermissionDenied:
    return PermissionDenied(message)
