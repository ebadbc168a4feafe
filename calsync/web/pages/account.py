"""Your password (Profile → Password) and, for administrators, ending a person's sessions (Admin → Sessions).

Changing the password needs the current one (through the sign-in limiter, so a borrowed session cannot guess it)
and a new one that passes the policy (:func:`calsync.services.passwords.check_password`); every other session
of yours ends, this one stays. An administrator can end all of one person's sessions, e.g. after a lost laptop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from calsync.errors import InvalidInput, PermissionDenied, TooManyAttempts
from calsync.services import auth, people
from calsync.web.client import client_address
from calsync.web.pages.common import Form, PageRoute, checked_form, ctx, redirect, render, viewer
from calsync.web.sessions import COOKIE, session_policy

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@dataclass
class PasswordForm:
    errors: dict[str, str] = field(default_factory=dict)


@router.get("/profile/password")
def password_page(request: Request) -> Response:
    view = viewer(request)
    done = request.query_params.get("done") == "changed"
    return render(request, "password.html", view, form=PasswordForm(), changed=done)


@router.post("/profile/password")
def change_password(request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    view = viewer(request)
    current, new, again = form.get("current_password"), form.get("new_password"), form.get("confirm_password")
    errors: dict[str, str] = {}
    status = 422
    if new != again:
        errors["confirm_password"] = "The two new passwords are not the same. Type the new password twice."
    else:
        try:
            auth.change_password(
                ctx(request),
                view.principal,
                current=current,
                new=new,
                address=client_address(request),
                keep_session=request.cookies.get(COOKIE),
            )
        except TooManyAttempts as exc:
            errors["current_password"], status = exc.message, 429
        except InvalidInput as exc:
            name = "current_password" if exc.field == "current_password" else "new_password"
            errors[name] = exc.message[:1].upper() + exc.message[1:]
    if errors:
        return render(request, "password.html", view, status_code=status, form=PasswordForm(errors), changed=False)
    return redirect("/profile/password?done=changed")


@router.get("/admin/sessions")
def sessions_page(request: Request) -> Response:
    view = viewer(request)
    if not view.is_admin:
        raise PermissionDenied("Only administrators can end other people's sessions.")
    service, policy = ctx(request), session_policy(request)
    everyone = people.list_people(service, view.principal)
    counts = {p.id: auth.live_sessions(service, p.id, policy) for p in everyone}
    ended = request.query_params.get("ended")
    return render(request, "admin_sessions.html", view, people=everyone, counts=counts, ended=ended)


@router.post("/admin/sessions/{person_id}/end")
def end_sessions(person_id: int, request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    view = viewer(request)
    auth.end_sessions(ctx(request), view.principal, person_id)
    if person_id == view.person.id:
        return redirect("/signin")
    return redirect(f"/admin/sessions?ended={person_id}")
