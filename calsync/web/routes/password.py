"""``/api/v1/password``: "forgot password" and using a set-password link (no authentication: the link is it)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks

from calsync.services import password_links
from calsync.web.account_schemas import ForgotPasswordIn, MessageOut, SetPasswordIn
from calsync.web.deps import Ctx, Links

router = APIRouter(prefix="/password", tags=["session"])

FORGOT_ANSWER = (
    "if that email belongs to someone here, a link to set a new password is on its way; it works once and expires"
)


@router.post(
    "/forgot",
    status_code=202,
    summary="Ask for a link to set a new password (same answer whether or not the email exists)",
)
def forgot_password(body: ForgotPasswordIn, background: BackgroundTasks, ctx: Ctx, links: Links) -> MessageOut:
    pending = password_links.request_reset(ctx, links, body.email)
    # mailed after the answer is sent, so its timing does not tell whether the email exists
    background.add_task(password_links.deliver_quietly, links, pending)
    return MessageOut(message=FORGOT_ANSWER)


@router.post("/set", summary="Set your password with the token of a one-time link (invitation or reset)")
def set_password(body: SetPasswordIn, ctx: Ctx) -> MessageOut:
    person = password_links.set_password(ctx, body.token, body.password)
    return MessageOut(message=f"password set for {person.email}; sign in with POST /api/v1/session or at /signin")
