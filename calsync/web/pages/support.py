"""Support: the internal note's checklist for one person (and optionally one of their events), as a page.

The seeds' internal note tells support staff what to check when "my event is not in my calendar": the connection
record, ``needFullSync``, the provider's OAuth token, and the job that pulls changes back. ``calsync diagnose``
walks that list (:func:`calsync.services.diagnose.diagnose`); this page runs the same function from a form and shows
each check's verdict, finding and next step. It never shows a token: the checks carry verdicts, human text and
plain facts only (the diagnosis module's own contract).

Only support staff and administrators may use it (others get 403), and only for people of their own organization:
an email from another organization reads exactly like an unknown one, so the page reveals nothing across
organizations. Running a diagnosis really refreshes the person's token (the refresh endpoint is the only authority
on a revoked grant, provider-facts §2 and §4) and stores the rotated one (Microsoft, §4), so the form is a POST with
a CSRF token, not a GET.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from calsync.core.model import Role
from calsync.errors import InvalidInput, PermissionDenied
from calsync.services import people
from calsync.services.diagnose import DiagnoseOptions, Diagnosis, diagnose
from calsync.web.pages.common import Form, PageRoute, Viewer, calendar, checked_form, ctx, render, runtime, viewer

router = APIRouter(route_class=PageRoute, include_in_schema=False)

SUPPORT_ROLES = (Role.SUPPORT, Role.ADMIN)
FORBIDDEN = "Only support staff and administrators can diagnose a person's calendar sync."
VERDICT_LABELS = {"ok": "OK", "warning": "Warning", "problem": "Problem"}


@dataclass
class SupportForm:
    """What was entered, and the error per field (shown next to its input)."""

    email: str = ""
    event_id: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _support_viewer(request: Request) -> Viewer:
    view = viewer(request)
    if view.role not in SUPPORT_ROLES:
        raise PermissionDenied(FORBIDDEN)
    return view


def _options(request: Request) -> DiagnoseOptions:
    settings = runtime(request).settings
    return DiagnoseOptions(
        push_enabled=settings.push_notifications,
        poll_interval=settings.poll_interval,
        lease_seconds=settings.lease_seconds,
        webhook_base_url=settings.effective_webhook_base_url,
    )


def _page(request: Request, view: Viewer, form: SupportForm, result: Diagnosis | None, status: int = 200) -> Response:
    return render(
        request, "support.html", view, status_code=status, form=form, result=result, verdict_labels=VERDICT_LABELS
    )


@router.get("/support")
def support_page(request: Request) -> Response:
    view = _support_viewer(request)
    return _page(request, view, SupportForm(), None)


@router.post("/support")
def run_diagnosis(request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    view = _support_viewer(request)
    entered = SupportForm(email=form.get("email"), event_id=form.get("event_id"))
    if not entered.email:
        entered.errors["email"] = "Enter the person's email address."
    event_id: int | None = None
    if entered.event_id:
        if entered.event_id.isdigit():
            event_id = int(entered.event_id)
        else:
            entered.errors["event_id"] = "An event id is a number (the one in the event's address, /events/ID)."
    if not entered.errors:
        members = {p.email.lower() for p in people.list_people(ctx(request), view.principal)}
        if entered.email.lower() not in members:
            entered.errors["email"] = (
                f"No one with the email {entered.email} is in {view.organization.name.rstrip('.')}. Check the address."
            )
    if entered.errors:
        return _page(request, view, entered, None, status=422)
    try:
        result = diagnose(calendar(request), _options(request), entered.email, event_id)
    except InvalidInput as exc:
        entered.errors["event_id" if exc.field == "event" else "email"] = exc.message
        return _page(request, view, entered, None, status=422)
    return _page(request, view, entered, result)
