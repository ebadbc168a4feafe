"""A small world for service tests: an organization with one person per role, and a second organization."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from calsync.core.model import Module, Organization, Principal, Role
from calsync.services import auth, organizations, people
from calsync.services.context import ServiceContext


@dataclass
class World:
    org: Organization
    other_org: Organization
    admin: Principal
    organizer: Principal
    organizer2: Principal
    member: Principal
    member2: Principal
    support: Principal
    other_admin: Principal
    other_organizer: Principal


def add(ctx: ServiceContext, org_id: int, email: str, zone: str, role: Role) -> Principal:
    new = people.NewPerson(email=email, name=email.split("@")[0].title(), timezone=zone, role=role)
    person = people.register(ctx, org_id, new)  # no password: argon2 is deliberately slow
    return auth.principal(person)


@pytest.fixture
def world(ctx: ServiceContext) -> World:
    org = organizations.create_organization(ctx, "Acme", frozenset({Module.EVENTS}))
    other = organizations.create_organization(ctx, "Globex", frozenset({Module.EVENTS}))
    return World(
        org=org,
        other_org=other,
        admin=add(ctx, org.id, "admin@acme.test", "Europe/Berlin", Role.ADMIN),
        organizer=add(ctx, org.id, "olivia@acme.test", "America/New_York", Role.ORGANIZER),
        organizer2=add(ctx, org.id, "oscar@acme.test", "Europe/London", Role.ORGANIZER),
        member=add(ctx, org.id, "max@acme.test", "Asia/Tokyo", Role.MEMBER),
        member2=add(ctx, org.id, "mia@acme.test", "Australia/Sydney", Role.MEMBER),
        support=add(ctx, org.id, "sam@acme.test", "UTC", Role.SUPPORT),
        other_admin=add(ctx, other.id, "admin@globex.test", "UTC", Role.ADMIN),
        other_organizer=add(ctx, other.id, "otto@globex.test", "UTC", Role.ORGANIZER),
    )
