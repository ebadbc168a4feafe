"""The role table of calsync.core.permissions, checked cell by cell."""

from __future__ import annotations

import pytest

from calsync.core import permissions as perm
from calsync.core.model import Principal, Role

ME, OTHER = 1, 2


def who(role: Role) -> Principal:
    return Principal(person_id=ME, organization_id=10, role=role, email="x@example.org", timezone="UTC")


# role: (manage org, list people, create events, change own event, change other's event, rsvps own, rsvps other's)
TABLE = {
    Role.ADMIN: (True, True, True, True, True, True, True),
    Role.ORGANIZER: (False, True, True, True, False, True, False),
    Role.SUPPORT: (False, True, False, False, False, True, True),
    Role.MEMBER: (False, False, False, False, False, False, False),
}


@pytest.mark.parametrize("role", list(Role))
def test_role_table(role: Role) -> None:
    """Each role may do exactly what the table in the module docstring says."""
    actor = who(role)
    got = (
        perm.can_manage_organization(actor),
        perm.can_list_people(actor),
        perm.can_create_events(actor),
        perm.can_change_event(actor, ME),
        perm.can_change_event(actor, OTHER),
        perm.can_read_event_rsvps(actor, ME),
        perm.can_read_event_rsvps(actor, OTHER),
    )
    assert got == TABLE[role]
