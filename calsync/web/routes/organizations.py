"""``/api/v1/organizations``: your organization, and its modules (admins); every organization, for operators."""

from __future__ import annotations

from fastapi import APIRouter

from calsync.core.model import Module
from calsync.services import organizations
from calsync.web.account_schemas import (
    CreatedOrganizationOut,
    InvitationOut,
    NewOrganizationIn,
    OperatorOrganizationOut,
)
from calsync.web.deps import Actor, Ctx, Links, OperatorActor
from calsync.web.schemas import ModuleIn, OrganizationOut, PersonOut

router = APIRouter(prefix="/organizations", tags=["organizations"])


@router.get("/me", summary="Your organization and its modules")
def my_organization(ctx: Ctx, actor: Actor) -> OrganizationOut:
    return OrganizationOut.of(organizations.my_organization(ctx, actor))


@router.put("/me/modules/{module}", summary="Switch a module on or off (administrators)")
def set_module(module: Module, body: ModuleIn, ctx: Ctx, actor: Actor) -> OrganizationOut:
    return OrganizationOut.of(organizations.set_module(ctx, actor, module, body.enabled))


# ---- operators (an operator token, never a person's) ------------------------------------------------------------


@router.get("", summary="Every organization of this installation (operator token)")
def list_organizations(ctx: Ctx, operator: OperatorActor) -> list[OperatorOrganizationOut]:
    return [OperatorOrganizationOut.of(o) for o in organizations.list_organizations(ctx, operator)]


@router.post(
    "",
    status_code=201,
    summary="Create an organization and invite its first administrator (operator token)",
    description="The administrator gets a one-time link to set their password: mailed, or (without a mail server) "
    "returned here as invitation.url and written to the log.",
)
def create_organization(
    body: NewOrganizationIn, ctx: Ctx, links: Links, operator: OperatorActor
) -> CreatedOrganizationOut:
    admin = organizations.NewAdmin(
        email=body.admin_email,
        name=body.admin_name or body.admin_email.partition("@")[0],
        timezone=body.admin_timezone,
    )
    org, person, invitation = organizations.create_with_admin(ctx, links, operator, body.name, admin)
    return CreatedOrganizationOut(
        organization=OperatorOrganizationOut.of(org),
        admin=PersonOut.of(person),
        invitation=InvitationOut.of(invitation),
    )


@router.get("/{organization_id}", summary="One organization (operator token)")
def get_organization(organization_id: int, ctx: Ctx, operator: OperatorActor) -> OperatorOrganizationOut:
    return OperatorOrganizationOut.of(organizations.get_organization(ctx, operator, organization_id))


@router.post(
    "/{organization_id}/disable",
    summary="Disable an organization: no sign-in, no API, no sync; nothing deleted (operator token)",
)
def disable_organization(organization_id: int, ctx: Ctx, operator: OperatorActor) -> OperatorOrganizationOut:
    return OperatorOrganizationOut.of(organizations.set_disabled(ctx, operator, organization_id, True))


@router.post("/{organization_id}/enable", summary="Enable a disabled organization again (operator token)")
def enable_organization(organization_id: int, ctx: Ctx, operator: OperatorActor) -> OperatorOrganizationOut:
    return OperatorOrganizationOut.of(organizations.set_disabled(ctx, operator, organization_id, False))
