"""Sign in and sign out: the password form, the session cookie the API also accepts, rate limiting, CSRF.

Signing in always issues a fresh session cookie and a fresh CSRF binding (no session fixation: whatever cookie
the browser carried before is replaced). Wrong email and wrong password get the same message.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from calsync.errors import NotAuthenticated
from calsync.services import auth
from calsync.web import csrf
from calsync.web.pages.common import (
    Form,
    PageRoute,
    checked_form,
    ctx,
    limiter,
    optional_viewer,
    redirect,
    render,
    safe_next,
)
from calsync.web.pages.ratelimit import too_many_message
from calsync.web.sessions import COOKIE, set_session_cookie

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/")
def home(request: Request) -> Response:
    return redirect("/events" if optional_viewer(request) else "/signin")


@router.get("/signin")
def signin_form(request: Request, next: str = "") -> Response:
    if optional_viewer(request) is not None:
        return redirect(safe_next(next))
    return render(request, "signin.html", None, next=safe_next(next), email="", error=None)


@router.post("/signin")
def signin(request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    email, password, target = form.get("email"), form.get("password"), safe_next(form.get("next"))
    address = request.client.host if request.client else "unknown"
    service = ctx(request)
    now = service.now()
    limits = limiter(request)
    wait = limits.retry_after(email, address, now)
    if wait is not None:
        return render(
            request, "signin.html", None, status_code=429, next=target, email=email, error=too_many_message(wait)
        )
    try:
        actor = auth.sign_in(service, email, password)
    except NotAuthenticated:
        limits.failed(email, address, now)
        wait = limits.retry_after(email, address, now)
        message = too_many_message(wait) if wait else "The email or password is wrong. Check both and try again."
        return render(request, "signin.html", None, status_code=401, next=target, email=email, error=message)
    limits.succeeded(email, address)
    cookie = request.app.state.signer.dumps(actor.person_id, auth.fingerprint_for(service, actor.person_id))
    request.state.session_cookie = cookie
    csrf.rotate(request)
    response = redirect(target)
    set_session_cookie(response, cookie, secure=bool(request.app.state.secure_cookies))
    return response


@router.post("/signout")
def signout(request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    csrf.rotate(request)
    response = redirect("/signin")
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="lax", secure=bool(request.app.state.secure_cookies)
    )
    return response
