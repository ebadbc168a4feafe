"""Admin: the organization's modules (administrators switch them), connections by state, recent sync errors from
the connection logs, whether worker processes are alive, and each connection's push-channel expiry.

Support staff may read this page (the internal note's checks, for the whole organization) but not switch modules.
Members and organizers get 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from calsync.core.connection import ConnectionStatus
from calsync.core.model import Module
from calsync.errors import InvalidInput, PermissionDenied
from calsync.services import badges, organizations, people
from calsync.web.pages.common import Form, PageRoute, calendar, checked_form, ctx, redirect, render, viewer

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MODULE_LABELS = {Module.EVENTS: "Events (events, RSVPs and calendar sync)"}


@router.get("/admin")
def admin_page(request: Request) -> Response:
    view = viewer(request)
    if not view.sees_admin:
        raise PermissionDenied("Only administrators and support staff can see the admin page.")
    overview = badges.organization_overview(calendar(request), view.principal)
    names = {p.id: p for p in people.list_people(ctx(request), view.principal)}
    return render(
        request,
        "admin.html",
        view,
        overview=overview,
        people=names,
        modules=list(Module),
        module_labels=MODULE_LABELS,
        statuses=list(ConnectionStatus),
        notice=request.query_params.get("done"),
    )


@router.post("/admin/modules")
def set_module(request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    view = viewer(request)
    try:
        module = Module(form.get("module"))
    except ValueError:
        raise InvalidInput(f"There is no module “{form.get('module')}”.", field="module") from None
    enabled = form.get("enabled") in ("1", "on", "true")
    organizations.set_module(ctx(request), view.principal, module, enabled)
    return redirect("/admin?done=modules")
