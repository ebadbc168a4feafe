"""Organizations: create (bootstrap), read your own, switch modules (admins); operators install calsync
(``calsync init``) and create, list, disable and enable organizations."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from calsync.core import validation
from calsync.core.model import Module, Operator, Organization, Person, Principal, Role
from calsync.core.permissions import can_manage_organization
from calsync.errors import Conflict, NotFound
from calsync.services import people
from calsync.services.access import deny, organization_of
from calsync.services.auth import OPERATOR_TOKEN_PREFIX, token_digest
from calsync.services.context import ServiceContext
from calsync.services.password_links import INVITE, Invitation, LinkSettings, add_link, deliver
from calsync.services.passwords import Passwords
from calsync.services.people import NewPerson
from calsync.services.uow import UnitOfWork, unit_of_work
from calsync.store.types import storable_id


def create_organization(
    ctx: ServiceContext, name: str, modules: frozenset[Module] = frozenset({Module.EVENTS})
) -> Organization:
    """Bootstrap path (CLI, demo, tests): a new organization, Events on unless told otherwise."""
    name = validation.required_text(name, field="name", max_length=200)
    with unit_of_work(ctx.db) as uow:
        return uow.organizations.add(name, modules, ctx.now())


def my_organization(ctx: ServiceContext, actor: Principal) -> Organization:
    with unit_of_work(ctx.db, write=False) as uow:
        return organization_of(uow, actor)


def set_module(ctx: ServiceContext, actor: Principal, module: Module, enabled: bool) -> Organization:
    """Switch a module for the caller's organization (admins only). Switching it to its current state is a no-op.

    Turning Events off leaves events and RSVPs stored; they are just unreachable (403) until it is on again.
    """
    if not can_manage_organization(actor):
        raise deny("only administrators can switch modules")
    with unit_of_work(ctx.db) as uow:
        uow.organizations.set_module(actor.organization_id, module, enabled, ctx.now())
        return organization_of(uow, actor)


# ---- operators: the installation's organizations (issue 12) -----------------------------------------------------
#
# An operator is not a person: an operator token (``cso_…``, table ``operator_tokens``) authenticates as an
# :class:`~calsync.core.model.Operator`, which names no organization. The functions below are the only ones that
# take one; every service that reads or changes an organization's data takes a Principal, which an operator
# token never yields (calsync.services.auth.authenticate_token refuses it with 403).


@dataclass(frozen=True)
class Initialized:
    organization: Organization
    admin: Person
    operator_token: str


@dataclass(frozen=True)
class NewAdmin:
    email: str
    name: str
    timezone: str = "UTC"


@dataclass(frozen=True)
class Install:
    """What ``calsync init`` will create, checked (and the password hashed) before the database is touched."""

    organization_name: str
    admin: people.CheckedPerson


def check_install(organization_name: str, admin: NewAdmin, password: str, passwords: Passwords) -> Install:
    name = validation.required_text(organization_name, field="organization", max_length=200)
    checked = people.check(NewPerson(admin.email, admin.name, admin.timezone, Role.ADMIN, password), passwords)
    return Install(name, checked)


def initialize(ctx: ServiceContext, install: Install, *, label: str = "calsync init") -> Initialized:
    """``calsync init``: the first organization (Events on), its admin with ``password``, and an operator token,
    in one transaction. An installation that has an organization or an operator token already is refused
    (:class:`Conflict`) and left unchanged."""
    with unit_of_work(ctx.db) as uow:
        if uow.organizations.count() or uow.operator_tokens.count():
            raise Conflict(
                "this database is initialized already (it has organizations); "
                "use 'calsync org create' with the operator token, or point CALSYNC_DATABASE_URL elsewhere"
            )
        organization = uow.organizations.add(install.organization_name, frozenset({Module.EVENTS}), ctx.now())
        person = people.add_checked(uow, organization.id, install.admin, ctx.now())
        secret = issue_operator_token(uow, label, ctx.now())
    return Initialized(organization, person, secret)


def issue_operator_token(uow: UnitOfWork, label: str, now: dt.datetime) -> str:
    secret = OPERATOR_TOKEN_PREFIX + secrets.token_urlsafe(32)
    uow.operator_tokens.add(token_digest(secret), label, now)
    return secret


def new_operator_token(ctx: ServiceContext, label: str) -> str:
    """Bootstrap path (CLI, on the database host): another operator token, shown once."""
    label = validation.optional_text(label, field="label", max_length=200) or "operator token"
    with unit_of_work(ctx.db) as uow:
        return issue_operator_token(uow, label, ctx.now())


def authenticate_operator(ctx: ServiceContext, token: str) -> Operator | None:
    """The operator this token belongs to, or None (not an operator token)."""
    if not token.startswith(OPERATOR_TOKEN_PREFIX) or len(token) > 200:
        return None
    with unit_of_work(ctx.db, write=False) as uow:
        return uow.operator_tokens.find(token_digest(token))


def list_organizations(ctx: ServiceContext, operator: Operator) -> list[Organization]:
    with unit_of_work(ctx.db, write=False) as uow:
        return uow.organizations.list_all()


def get_organization(ctx: ServiceContext, operator: Operator, organization_id: int) -> Organization:
    with unit_of_work(ctx.db, write=False) as uow:
        return _find(uow, organization_id)


def find_organization(ctx: ServiceContext, operator: Operator, name_or_id: str) -> Organization:
    """By name (case-insensitive) or, failing that, by numeric id: what ``calsync org disable`` accepts."""
    with unit_of_work(ctx.db, write=False) as uow:
        found = uow.organizations.by_name(name_or_id.strip())
        if found is None and name_or_id.strip().isdigit():
            found = uow.organizations.get(int(name_or_id.strip()))
    if found is None:
        raise NotFound(f"no organization named {name_or_id!r}; 'calsync org list' shows them")
    return found


def create_with_admin(
    ctx: ServiceContext, links: LinkSettings, operator: Operator, name: str, admin: NewAdmin
) -> tuple[Organization, Person, Invitation]:
    """A new organization (Events on) and its first admin, invited with a set-password link exactly as an admin
    invites people (:mod:`calsync.services.password_links`). Names are unique, compared case-insensitively."""
    name = validation.required_text(name, field="name", max_length=200)
    checked = people.check(NewPerson(admin.email, admin.name, admin.timezone, Role.ADMIN), ctx.passwords)
    with unit_of_work(ctx.db) as uow:
        if uow.organizations.by_name(name) is not None:
            raise Conflict(f"an organization named {name!r} exists already; choose another name")
        organization = uow.organizations.add(name, frozenset({Module.EVENTS}), ctx.now())
        person = people.add_checked(uow, organization.id, checked, ctx.now())
        pending = add_link(uow, links, person, organization.name, INVITE, ctx.now())
    return organization, person, deliver(links, pending)


def set_disabled(ctx: ServiceContext, operator: Operator, organization_id: int, disabled: bool) -> Organization:
    """Disable an organization (its people cannot sign in or use tokens, its connections are not synced: workers
    skip them) or enable it again. Nothing is deleted either way; doing it twice changes nothing."""
    with unit_of_work(ctx.db) as uow:
        _find(uow, organization_id)
        found = uow.organizations.set_disabled(organization_id, ctx.now() if disabled else None)
        assert found is not None
        return found


def _find(uow: UnitOfWork, organization_id: int) -> Organization:
    found = uow.organizations.get(organization_id) if storable_id(organization_id) else None
    if found is None:
        raise NotFound(f"no organization with id {organization_id}")
    return found
