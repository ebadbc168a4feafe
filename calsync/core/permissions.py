"""Who may do what, by role. Pure functions so the table is tested once and every entry point shares it.

=============  ==========================================================================================
role           may
=============  ==========================================================================================
admin          everything in their organization: modules, people, every event, every RSVP list
organizer      create events; edit, cancel and invite on their own events; list people (to invite them)
support        read everything in the organization (people, events, every RSVP list); change nothing
member         read the organization's events; read and set their own RSVPs
=============  ==========================================================================================

Everyone may read their own person and organization, create their own API tokens and answer events. Objects of
another organization are never "forbidden", they are "not found" (:class:`~calsync.errors.NotFound`), so an id
reveals nothing. The services call these and raise :class:`~calsync.errors.PermissionDenied` with the reason.
"""

from __future__ import annotations

from calsync.core.model import Principal, Role


def can_manage_organization(actor: Principal) -> bool:
    """Switch modules, create people, make tokens for others."""
    return actor.role is Role.ADMIN


def can_list_people(actor: Principal) -> bool:
    """Organizers need the list to invite; support reads everything; members see only themselves."""
    return actor.role in (Role.ADMIN, Role.ORGANIZER, Role.SUPPORT)


def can_create_events(actor: Principal) -> bool:
    return actor.role in (Role.ADMIN, Role.ORGANIZER)


def can_change_event(actor: Principal, organizer_id: int) -> bool:
    """Edit, cancel, invite: the event's own organizer (if still an organizer) or any admin."""
    if actor.role is Role.ADMIN:
        return True
    return actor.role is Role.ORGANIZER and actor.person_id == organizer_id


def can_read_event_rsvps(actor: Principal, organizer_id: int) -> bool:
    """An event's RSVP list: its organizer, admins and support."""
    return actor.role in (Role.ADMIN, Role.SUPPORT) or (
        actor.role is Role.ORGANIZER and actor.person_id == organizer_id
    )
