"""Sign in and sign out: the password form, the server-side session the API also accepts, rate limiting, CSRF.

Signing in always starts a new server-side session and a fresh CSRF binding (no session fixation: whatever
session cookie the browser carried before is ended and replaced). Wrong email and wrong password get the same
message. The sign-in limiter is the API's (:mod:`calsync.services.signin_limit`): counts in the database, shared
by every process, keyed by email and client address.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from calsync.errors import NotAuthenticated, TooManyAttempts
from calsync.services import auth, signin_limit
from calsync.web import csrf
from calsync.web.client import client_address
from calsync.web.pages.common import (
    Form,
    PageRoute,
    checked_form,
    ctx,
    optional_viewer,
    redirect,
    render,
    safe_next,
)
from calsync.web.sessions import COOKIE, clear_session_cookie, session_policy, set_session_cookie

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
    address = client_address(request)
    service = ctx(request)
    try:
        actor = auth.sign_in(service, email, password, address=address)
    except TooManyAttempts as exc:
        return render(request, "signin.html", None, status_code=429, next=target, email=email, error=exc.message)
    except NotAuthenticated:
        wait = signin_limit.retry_after(service, signin_limit.email_subject(email), address)
        message = (
            signin_limit.too_many_message(wait)
            if wait
            else "The email or password is wrong. Check both and try again."
        )
        return render(request, "signin.html", None, status_code=401, next=target, email=email, error=message)
    previous = request.cookies.get(COOKIE)
    if previous:
        auth.end_session(service, previous)
    session_id = auth.start_session(service, actor.person_id, session_policy(request))
    request.state.session_cookie = session_id
    csrf.rotate(request)
    response = redirect(target)
    set_session_cookie(request, response, session_id)
    return response


@router.post("/signout")
def signout(request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    session_id = request.cookies.get(COOKIE)
    if session_id:
        auth.end_session(ctx(request), session_id)
    csrf.rotate(request)
    response = redirect("/signin")
    clear_session_cookie(request, response)
    return response
