"""People: create (admins, or bootstrap), list, read and update yourself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from calsync.core import validation
from calsync.core.model import Person, Principal, Role
from calsync.core.permissions import can_list_people, can_manage_organization
from calsync.core.timezones import validate_zone
from calsync.errors import NotFound
from calsync.services.access import deny, organization_of
from calsync.services.context import ServiceContext
from calsync.services.passwords import Passwords, check_password
from calsync.services.uow import UnitOfWork, unit_of_work


@dataclass(frozen=True)
class NewPerson:
    email: str
    name: str
    timezone: str
    role: Role = Role.MEMBER
    password: str | None = None


@dataclass(frozen=True)
class CheckedPerson:
    """A :class:`NewPerson` whose fields passed the checks, its password already hashed (argon2 is slow: it runs
    before any transaction opens)."""

    email: str
    name: str
    timezone: str
    role: Role
    password_hash: str | None


def check(new: NewPerson, passwords: Passwords) -> CheckedPerson:
    """The checks every way of adding a person makes; a password must pass the one policy
    (:func:`calsync.services.passwords.check_password`)."""
    email = validation.email(new.email)
    name = validation.required_text(new.name, field="name", max_length=validation.MAX_NAME)
    return CheckedPerson(
        email=email,
        name=name,
        timezone=validate_zone(new.timezone),
        role=new.role,
        password_hash=None
        if new.password is None
        else passwords.hash(check_password(new.password, email=email, name=name)),
    )


def add_checked(uow: UnitOfWork, organization_id: int, person: CheckedPerson, now: dt.datetime) -> Person:
    """Add a checked person inside the caller's unit of work (so an invitation link can commit with them)."""
    if uow.organizations.get(organization_id) is None:
        raise NotFound(f"no organization with id {organization_id}")
    return uow.people.add(
        organization_id=organization_id,
        email=person.email,
        name=person.name,
        timezone=person.timezone,
        role=person.role,
        password_hash=person.password_hash,
        now=now,
    )


def register(ctx: ServiceContext, organization_id: int, new: NewPerson) -> Person:
    """Bootstrap path (CLI, demo, tests): add a person to an organization without a caller to check."""
    checked = check(new, ctx.passwords)
    with unit_of_work(ctx.db) as uow:
        return add_checked(uow, organization_id, checked, ctx.now())


def create_person(ctx: ServiceContext, actor: Principal, new: NewPerson) -> Person:
    """An administrator adds a person to their own organization."""
    if not can_manage_organization(actor):
        raise deny("only administrators can add people")
    return register(ctx, actor.organization_id, new)


def list_people(ctx: ServiceContext, actor: Principal) -> list[Person]:
    if not can_list_people(actor):
        raise deny("members cannot list people; ask an organizer or administrator")
    with unit_of_work(ctx.db, write=False) as uow:
        return uow.people.list_in_organization(actor.organization_id)


def get_person(ctx: ServiceContext, actor: Principal, person_id: int) -> Person:
    with unit_of_work(ctx.db, write=False) as uow:
        person = uow.people.get_in_organization(actor.organization_id, person_id)
    if person is None:
        raise NotFound(f"no person with id {person_id} in your organization")
    if person.id != actor.person_id and not can_list_people(actor):
        raise deny("members can only read themselves")
    return person


def me(ctx: ServiceContext, actor: Principal) -> Person:
    with unit_of_work(ctx.db, write=False) as uow:
        organization_of(uow, actor)
        person = uow.people.get(actor.person_id)
    if person is None:
        raise NotFound("you no longer exist here")
    return person


def update_me(
    ctx: ServiceContext,
    actor: Principal,
    *,
    name: str | None = None,
    timezone: str | None = None,
) -> Person:
    """Change your own name or zone (a password: :func:`calsync.services.auth.change_password`, which needs the
    current one). A new zone does not move existing events: events without their own zone were fixed to the
    organizer's zone when they were created."""
    new_name = None if name is None else validation.required_text(name, field="name", max_length=validation.MAX_NAME)
    new_zone = None if timezone is None else validate_zone(timezone)
    with unit_of_work(ctx.db) as uow:
        return uow.people.update(actor.person_id, name=new_name, timezone=new_zone)
