"""``/api/v1/session``: sign in with email and password (sets the session cookie), sign out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from calsync.services import auth, people
from calsync.web.deps import Ctx, signer
from calsync.web.schemas import PersonOut, SessionIn
from calsync.web.sessions import COOKIE, set_session_cookie

router = APIRouter(prefix="/session", tags=["session"])


@router.post("", summary="Sign in: sets the signed session cookie")
def sign_in(body: SessionIn, request: Request, response: Response, ctx: Ctx) -> PersonOut:
    actor = auth.sign_in(ctx, body.email, body.password)
    cookie = signer(request).dumps(actor.person_id, auth.fingerprint_for(ctx, actor.person_id))
    set_session_cookie(response, cookie, secure=bool(request.app.state.secure_cookies))
    return PersonOut.of(people.me(ctx, actor))


@router.delete("", status_code=204, summary="Sign out: clears the session cookie")
def sign_out(request: Request) -> Response:
    response = Response(status_code=204)
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="lax", secure=bool(request.app.state.secure_cookies)
    )
    return response
