"""Forgot password and set password: the pages behind the one-time links of :mod:`calsync.services.password_links`.

The set-password page carries the secret in its address (``/set-password?token=…``), so it is served with
``Referrer-Policy: no-referrer`` (no link on it may leak the token to another site) and ``no-store``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response

from calsync.errors import InvalidInput
from calsync.services import password_links
from calsync.web.pages.common import Form, PageRoute, checked_form, ctx, redirect, render, runtime

router = APIRouter(route_class=PageRoute, include_in_schema=False)

SENT = (
    "If that email belongs to someone here, a link to set a new password is on its way. It works once and expires "
    "soon; check your spam folder if it does not arrive."
)


def _no_referrer(response: Response) -> Response:
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/forgot-password")
def forgot_form(request: Request) -> Response:
    return render(request, "forgot_password.html", None, email="", sent=None, error=None)


@router.post("/forgot-password")
def forgot(request: Request, background: BackgroundTasks, form: Annotated[Form, Depends(checked_form)]) -> Response:
    links = runtime(request).links
    pending = password_links.request_reset(ctx(request), links, form.get("email"))
    background.add_task(password_links.deliver_quietly, links, pending)  # after the answer: timing tells nothing
    response = render(request, "forgot_password.html", None, email="", sent=SENT, error=None)
    response.background = background
    return response


@router.get("/set-password")
def set_form(request: Request, token: str = "") -> Response:
    error = None if token else "This page needs the link from your mail; open it from there."
    return _no_referrer(render(request, "set_password.html", None, token=token, error=error))


@router.post("/set-password")
def set_password(request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    token, password = form.get("token"), form.get("password")
    if password != form.get("confirm"):
        response = render(
            request, "set_password.html", None, status_code=422, token=token, error="The two passwords differ."
        )
        return _no_referrer(response)
    try:
        person = password_links.set_password(ctx(request), token, password)
    except InvalidInput as exc:
        keep = token if exc.field != "token" else ""  # a bad password: try again; a dead link: ask for a new one
        status = 422 if keep else 400
        response = render(request, "set_password.html", None, status_code=status, token=keep, error=exc.message)
        return _no_referrer(response)
    del person  # signed in with their email and the new password, on the next page
    return redirect("/signin")
