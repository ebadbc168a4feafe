"""The browser half of connecting a calendar: ``POST /connect/{provider}`` and ``GET /oauth/{provider}/callback``.

The flow (issue 4; RFC 9700 §2.1, §4.7): the signed-in person presses Connect on Profile → Calendar, a form that
POSTs to ``/connect/google`` (or ``microsoft``) with the page's CSRF token (:mod:`calsync.web.csrf`); calsync
sets a random **binding cookie** and sends the browser to the provider with a one-time ``state`` and a PKCE S256
challenge (:func:`calsync.services.connections.start_connect` stores the state's hash, the cookie's hash and the
encrypted verifier). The provider sends the browser back to the registered redirect URI, ``/oauth/{provider}/
callback``, which spends the state and exchanges the code only when the same browser (the cookie) and, when a
session cookie is present, the same person come back within 10 minutes.

Starting is a POST with the CSRF token because it changes things: a new connection replaces the active one (and
revokes the old grant) once the provider answers, and with auto-consent a provider answers without asking. As a
plain GET, a cross-site link or image could switch a signed-in person's calendar. ``GET /connect/{provider}`` now
only sends the browser to Profile → Calendar.

The binding cookie is HttpOnly (no script reads it), SameSite=Lax (sent on the provider's top-level redirect back
to us, not on cross-site subrequests), Secure when calsync's public URL is https, scoped to ``Path=/oauth`` (the
only place it is needed) and lives 10 minutes, as long as the state.

Every redirect target here is a fixed path: a ``next``/``redirect_uri``/``return_to`` parameter is never read,
so these routes cannot be used as an open redirector. A refusal is a small HTML page with the reason and a link
back to Profile → Calendar, status 400 (503 when the provider was unreachable, so the person tries again).
"""

from __future__ import annotations

import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Cookie, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from calsync.errors import (
    CalsyncError,
    FeatureDisabled,
    NotAuthenticated,
    ProviderError,
    ProviderTransient,
    ProviderUnreadable,
)
from calsync.services import auth, connections
from calsync.services.connections import STATE_TTL, CalendarContext
from calsync.web import csrf
from calsync.web.errors import PROVIDER_LABELS, provider_message, retry_after
from calsync.web.pages.common import message_page
from calsync.web.sessions import COOKIE as SESSION_COOKIE
from calsync.web.sessions import session_policy

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

BINDING_COOKIE = "calsync_oauth_binding"
BINDING_PATH = "/oauth"
PROFILE = "/profile/calendar"
CONNECTED = "/profile/calendar?done=connected"
SIGN_IN = "/signin"


def new_binding() -> str:
    """A fresh random binding value (256 bits)."""
    return secrets.token_urlsafe(32)


def set_binding_cookie(request: Request, response: Response, value: str) -> None:
    """Bind the flow being started to this browser (see the module docstring for the attributes)."""
    response.set_cookie(
        BINDING_COOKIE,
        value,
        max_age=int(STATE_TTL.total_seconds()),
        path=BINDING_PATH,
        httponly=True,
        samesite="lax",
        secure=bool(request.app.state.secure_cookies),
    )


def _clear_binding_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        BINDING_COOKIE,
        path=BINDING_PATH,
        httponly=True,
        samesite="lax",
        secure=bool(request.app.state.secure_cookies),
    )


def _cc(request: Request) -> CalendarContext:
    cc = request.app.state.runtime.calendar
    assert isinstance(cc, CalendarContext)
    return cc


def _session_person(request: Request) -> int | None:
    """The person whose live session the cookie names, or None when there is no valid one."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        return auth.session_principal(_cc(request).service, cookie, session_policy(request)).person_id
    except NotAuthenticated:
        return None


def page(
    request: Request,
    title: str,
    message: str,
    *,
    status: int,
    link: str = PROFILE,
    link_text: str = "Back to Profile → Calendar",
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A refusal in the site's layout (navigation when signed in, the site's CSS, the message as a sentence)."""
    headers = {"Cache-Control": "no-store", **(headers or {})}
    return message_page(request, title, message, status=status, link=link, link_text=link_text, headers=headers)


def _refusal(request: Request, exc: CalsyncError, where: str) -> HTMLResponse:
    """The page for a failed connect step; logs the reason (our own text or the provider's, redacted)."""
    log.info("calendar connect refused at %s: %s: %s", where, type(exc).__name__, exc.message)
    if isinstance(exc, ProviderTransient):
        return page(
            request,
            "Could not reach your calendar provider",
            provider_message(exc),
            status=503,
            headers={"Retry-After": str(retry_after(exc))},
        )
    if isinstance(exc, ProviderUnreadable):
        return page(request, "Your calendar was not connected", exc.message, status=400)
    if isinstance(exc, ProviderError):
        # At the callback a provider refusal is about this authorization (a code used twice or expired, a PKCE
        # verifier that does not match), not about a stored grant, so say that rather than the grant's reason.
        label = PROVIDER_LABELS.get(exc.provider, exc.provider)
        return page(
            request,
            "Your calendar was not connected",
            f"{label} did not accept this authorization (it may have been used already or have expired). "
            "Start connecting again from Profile → Calendar.",
            status=400,
        )
    if isinstance(exc, FeatureDisabled):
        return page(request, "Calendar sync is not available", exc.message, status=403)
    return page(request, "Your calendar was not connected", exc.message, status=400)


@router.get("/connect/{provider}")
def connect_page(provider: str) -> Response:
    """Not a way to start connecting (that is a POST with the CSRF token): go to Profile → Calendar, change nothing."""
    return RedirectResponse(PROFILE, status_code=303, headers={"Cache-Control": "no-store"})


@router.post("/connect/{provider}")
async def connect(provider: str, request: Request) -> Response:
    """Start connecting: the signed-in person is sent to the provider's authorization page (303)."""
    form = await request.form()
    submitted = form.get(csrf.FIELD)
    try:
        csrf.check(csrf.key_of(request), request, submitted if isinstance(submitted, str) else None)
    except csrf.CsrfRefused as exc:
        return page(request, "Your calendar was not connected", exc.message, status=403)
    return await run_in_threadpool(_start, provider, request)


def _start(provider: str, request: Request) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return page(
            request,
            "Sign in first",
            "Sign in to calsync, then connect your calendar from Profile → Calendar.",
            status=401,
            link=SIGN_IN,
            link_text="Sign in",
        )
    try:
        chosen = connections.parse_provider(provider)
        actor = auth.session_principal(_cc(request).service, cookie, session_policy(request))
        binding = new_binding()
        url = connections.start_connect(_cc(request), actor, chosen, binding)
    except NotAuthenticated as exc:
        return page(request, "Sign in first", exc.message, status=401, link=SIGN_IN, link_text="Sign in")
    except CalsyncError as exc:
        return _refusal(request, exc, "start")
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    set_binding_cookie(request, response, binding)
    return response


@router.get("/oauth/{provider}/callback")
def callback(
    provider: str,
    request: Request,
    state: Annotated[str | None, Query(max_length=512)] = None,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    binding: Annotated[str | None, Cookie(alias=BINDING_COOKIE)] = None,
) -> Response:
    """The registered redirect URI: finish connecting, then 303 to Profile → Calendar (a fixed path).

    ``error_description`` from the provider is deliberately not shown: it is the provider's text, not ours.
    """
    try:
        chosen = connections.parse_provider(provider)
        connections.complete_connect(
            _cc(request),
            chosen,
            state=state,
            code=code,
            error=error,
            browser_binding=binding,
            session_person_id=_session_person(request),
        )
    except CalsyncError as exc:
        # The binding cookie is left alone: clearing it here would let anyone who can make this browser open a
        # forged callback break the person's own flow in progress. It expires with the state anyway.
        return _refusal(request, exc, "callback")
    log.info("calendar connected via the %s callback", chosen.value)
    response = RedirectResponse(CONNECTED, status_code=303, headers={"Cache-Control": "no-store"})
    _clear_binding_cookie(request, response)
    return response
