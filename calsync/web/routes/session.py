"""``/api/v1/session``: sign in with email and password (sets the session cookie), read it, sign out.

Sign-in goes through the shared limiter (:mod:`calsync.services.signin_limit`; 429 with ``Retry-After`` once over
it) and always starts a new server-side session (a session cookie the client already had is ended, not reused).
The response carries ``X-CSRF-Token``: the header cookie-authenticated unsafe calls need (docs/security.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from calsync.services import auth, people
from calsync.web import csrf, errors
from calsync.web.client import client_address
from calsync.web.deps import Actor, Ctx, current_session
from calsync.web.schemas import PersonOut, SessionIn, SessionOut
from calsync.web.sessions import COOKIE, clear_session_cookie, session_policy, set_session_cookie

router = APIRouter(prefix="/session", tags=["session"])


@router.post(
    "",
    summary="Sign in: sets the session cookie; the X-CSRF-Token response header is for later unsafe calls",
    responses=errors.responses(429),
)
def sign_in(body: SessionIn, request: Request, response: Response, ctx: Ctx) -> PersonOut:
    csrf.check_sign_in_origin(request)
    actor = auth.sign_in(ctx, body.email, body.password, address=client_address(request))
    previous = request.cookies.get(COOKIE)
    if previous:
        auth.end_session(ctx, previous)
    session_id = auth.start_session(ctx, actor.person_id, session_policy(request))
    set_session_cookie(request, response, session_id)
    response.headers[csrf.HEADER] = csrf.api_token(csrf.key_of(request), session_id)
    return PersonOut.of(people.me(ctx, actor))


@router.get("", summary="Who is signed in, and the X-CSRF-Token for this session (cookie clients)")
def read_session(request: Request, ctx: Ctx, actor: Actor) -> SessionOut:
    session_id = current_session(request)
    token = csrf.api_token(csrf.key_of(request), session_id) if session_id else None
    return SessionOut(person=PersonOut.of(people.me(ctx, actor)), csrf_token=token)


@router.delete("", status_code=204, summary="Sign out: ends the session on the server and clears the cookie")
def sign_out(request: Request, ctx: Ctx) -> Response:
    session_id = request.cookies.get(COOKIE)
    if session_id:
        csrf.check_api(request, session_id)
        auth.end_session(ctx, session_id)
    response = Response(status_code=204)
    clear_session_cookie(request, response)
    return response
