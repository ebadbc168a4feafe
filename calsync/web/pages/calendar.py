"""Profile → Calendar: connect Google Calendar or Outlook, see the connection's state in plain words, pick the
calendar that receives events, Resync, Disconnect.

The seeds' troubleshooting advice is shown where it applies: the error's reason and "disconnect and reconnect"
next to a broken connection; "check the right calendar: events go to <name>" next to the picker; Resync next to
the duplicate and missing-event advice. Connecting itself is ``POST /connect/{provider}`` with the CSRF token
(authorization code flow with PKCE, ``calsync.web.routes``), which comes back to this page.

Resync progress: the POST marks the connection for a full reconcile (``need_full_sync``); the page then polls
``/profile/calendar/status.json`` (a little plain JavaScript; without JavaScript a reload shows the same) and
shows the result once the flag clears.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from calsync.core.connection import Connection, ConnectionStatus
from calsync.errors import FeatureDisabled, InvalidInput, ProviderError
from calsync.providers.base import CalendarInfo
from calsync.services import connections
from calsync.services.access import EVENTS_OFF
from calsync.web.errors import provider_message
from calsync.web.pages.common import Form, PageRoute, calendar, checked_form, ctx, redirect, render, viewer
from calsync.web.pages.formatting import ago

router = APIRouter(route_class=PageRoute, include_in_schema=False)

DEDICATED = "__dedicated__"
NOTICES = {
    "resync": "Resync requested: calsync is checking every event against your calendar.",
    "target": "Saved: new events go to the calendar you picked; existing ones move there shortly.",
    "disconnected": "Your calendar is disconnected. calsync no longer has access to it.",
    "disconnected-partly": "Your calendar is disconnected, but calsync could not finish cleaning up at the provider "
    "(for example removing the events it added). Remove any leftover events by hand in your calendar app.",
    "connected": "Your calendar is connected. Events you accept will appear in it within seconds.",
}


def _require_events(request: Request) -> None:
    if not viewer(request).organization.events_enabled:
        raise FeatureDisabled(EVENTS_OFF)


@router.get("/profile/calendar")
def calendar_page(request: Request) -> Response:
    view = viewer(request)
    _require_events(request)
    cc = calendar(request)
    connection = connections.my_connection(cc, view.principal)
    choices: list[CalendarInfo] = []
    choices_error = None
    if connection is not None and connection.status is ConnectionStatus.CONNECTED:
        try:
            choices = connections.list_calendars(cc, view.principal)
        except ProviderError as exc:
            choices_error = f"Your calendars could not be listed just now: {provider_message(exc)}"
    done = request.query_params.get("done", "")
    return render(
        request,
        "calendar.html",
        view,
        connection=connection,
        active=connection is not None and connection.active,
        choices=choices,
        choices_error=choices_error,
        dedicated=DEDICATED,
        notice=NOTICES.get(done),
        resync_started=done == "resync",
        now=ctx(request).now(),
    )


def status_body(connection: Connection | None, request: Request) -> dict[str, Any]:
    now = ctx(request).now()
    if connection is None:
        return {"status": "none"}
    return {
        "status": connection.status.value,
        "resync_running": connection.need_full_sync and connection.status is ConnectionStatus.CONNECTED,
        "need_full_sync_reason": connection.need_full_sync_reason,
        "pending_changes": connection.pending_changes,
        "last_success_at": connection.last_success_at.isoformat() if connection.last_success_at else None,
        "last_synced": ago(connection.last_success_at, now),
        "error_reason": connection.error_reason,
    }


@router.get("/profile/calendar/status.json")
def status_json(request: Request) -> Response:
    """The connection's state for the page's Resync progress (session cookie; read-only, so no CSRF)."""
    view = viewer(request)
    _require_events(request)
    body = status_body(connections.my_connection(calendar(request), view.principal), request)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/profile/calendar/target")
def set_target(request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    view = viewer(request)
    choice = form.get("calendar_id")
    if not choice:
        raise InvalidInput("Pick a calendar, or “Create a dedicated calendar”.", field="calendar_id")
    if choice == DEDICATED:
        connections.set_target(calendar(request), view.principal, create_dedicated=True)
    else:
        connections.set_target(calendar(request), view.principal, calendar_id=choice)
    return redirect("/profile/calendar?done=target")


@router.post("/profile/calendar/resync")
def resync(request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    connections.request_resync(calendar(request), viewer(request).principal)
    return redirect("/profile/calendar?done=resync")


@router.post("/profile/calendar/disconnect")
def disconnect(request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    remove = form.get("remove_entries") in ("1", "on", "true")
    report = connections.disconnect(calendar(request), viewer(request).principal, remove_entries=remove)
    return redirect("/profile/calendar?done=" + ("disconnected-partly" if report.problems else "disconnected"))
