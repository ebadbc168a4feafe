"""Organizations: create (bootstrap), read your own, switch modules (admins)."""

from __future__ import annotations

from calsync.core import validation
from calsync.core.model import Module, Organization, Principal
from calsync.core.permissions import can_manage_organization
from calsync.services.access import deny, organization_of
from calsync.services.context import ServiceContext
from calsync.services.uow import unit_of_work


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
