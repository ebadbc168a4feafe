"""``/api/v1/organizations``: your organization, and its modules (admins)."""

from __future__ import annotations

from fastapi import APIRouter

from calsync.core.model import Module
from calsync.services import organizations
from calsync.web.deps import Actor, Ctx
from calsync.web.schemas import ModuleIn, OrganizationOut

router = APIRouter(prefix="/organizations", tags=["organizations"])


@router.get("/me", summary="Your organization and its modules")
def my_organization(ctx: Ctx, actor: Actor) -> OrganizationOut:
    return OrganizationOut.of(organizations.my_organization(ctx, actor))


@router.put("/me/modules/{module}", summary="Switch a module on or off (administrators)")
def set_module(module: Module, body: ModuleIn, ctx: Ctx, actor: Actor) -> OrganizationOut:
    return OrganizationOut.of(organizations.set_module(ctx, actor, module, body.enabled))
