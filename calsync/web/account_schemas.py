"""Bodies of the installation endpoints: operators' organizations, invitations and set-password links."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from calsync.core.model import Organization
from calsync.services.password_links import Delivery, Invitation
from calsync.web.schemas import OrganizationOut, PersonOut, Request


class OperatorOrganizationOut(OrganizationOut):
    """An organization as an operator sees it: no people, events or connections, only whether it is enabled."""

    disabled_at: dt.datetime | None = Field(description="When an operator disabled it; null while enabled.")

    @classmethod
    def of(cls, org: Organization) -> OperatorOrganizationOut:
        return cls(**OrganizationOut.of(org).model_dump(), disabled_at=org.disabled_at)


class NewOrganizationIn(Request):
    name: str = Field(examples=["Globex"], description="Unique (case-insensitively) in this installation.")
    admin_email: str = Field(examples=["admin@globex.example"], description="The first administrator.")
    admin_name: str | None = Field(default=None, description="Default: the part of the email before '@'.")
    admin_timezone: str = Field(default="UTC", description="IANA time zone of the first administrator.")


class InvitationOut(BaseModel):
    """A set-password link that was made. ``url`` is present only when it was not mailed: pass it on."""

    email: str
    expires_at: dt.datetime
    delivery: Delivery = Field(
        description="sent: mailed; not_configured: no mail server (CALSYNC_SMTP_URL), see url; failed: the mail "
        "server failed, see url and detail"
    )
    url: str | None = None
    detail: str

    @classmethod
    def of(cls, invitation: Invitation) -> InvitationOut:
        return cls(
            email=invitation.email,
            expires_at=invitation.expires_at,
            delivery=invitation.delivery,
            url=invitation.url,
            detail=invitation.detail,
        )


class CreatedOrganizationOut(BaseModel):
    organization: OperatorOrganizationOut
    admin: PersonOut
    invitation: InvitationOut


class CreatedPersonOut(PersonOut):
    invitation: InvitationOut | None = Field(
        default=None, description="The set-password link made for them (absent when a password was given)."
    )


class ForgotPasswordIn(Request):
    email: str


class SetPasswordIn(Request):
    token: str = Field(description="The token from the link's ?token=")
    password: str


class MessageOut(BaseModel):
    message: str
