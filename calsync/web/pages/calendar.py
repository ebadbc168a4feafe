"""Profile → Calendar: connect Google Calendar or Outlook, see the connection's state in plain words, pick the
calendar that receives events, choose what it shows of each event, Resync, Disconnect (after a confirmation that
says what will be removed).

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
from calsync.core.entry import Display
from calsync.errors import FeatureDisabled, InvalidInput, ProviderError
from calsync.providers.base import CalendarInfo
from calsync.services import badges, connections
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
    "display": "Saved: events already in your calendar are updated to show what you chose within seconds.",
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
    resync_running = connection is not None and connection.need_full_sync
    if done == "resync" and not resync_running:
        done = ""  # it already finished: the progress line says "Resync finished", and only that
    dedicated_name = f"{view.organization.name} {connections.DEDICATED_NAME_SUFFIX}"
    return render(
        request,
        "calendar.html",
        view,
        connection=connection,
        active=connection is not None and connection.active,
        choices=choices,
        choices_error=choices_error,
        dedicated=DEDICATED,
        dedicated_exists=connection is not None
        and (connection.dedicated_calendar or any(c.name == dedicated_name for c in choices)),
        target_is_primary=_target_is_primary(connection, choices),
        displays=list(Display),
        entry_count=badges.entries_in_calendar(cc, view.principal) if connection is not None else 0,
        notice=NOTICES.get(done),
        notice_kind=done,
        resync_started=request.query_params.get("done") == "resync",
        now=ctx(request).now(),
    )


def _target_is_primary(connection: Connection | None, choices: list[CalendarInfo]) -> bool:
    """Whether events go to the account's main calendar (the only Google calendar with Yes / Maybe / No)."""
    if connection is None or connection.target_calendar_id is None:
        return True
    if connection.dedicated_calendar:
        return False
    listed = next((c for c in choices if c.id == connection.target_calendar_id), None)
    return listed is None or listed.primary


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


@router.post("/profile/calendar/display")
def set_display(request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    try:
        display = Display(form.get("display"))
    except ValueError:
        raise InvalidInput(
            "Choose what your calendar shows: full details, title and time only, or busy only.", field="display"
        ) from None
    connections.set_display(calendar(request), viewer(request).principal, display)
    return redirect("/profile/calendar?done=display")


@router.post("/profile/calendar/resync")
def resync(request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    connections.request_resync(calendar(request), viewer(request).principal)
    return redirect("/profile/calendar?done=resync")


@router.post("/profile/calendar/disconnect")
def disconnect(request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    remove = form.get("remove_entries") in ("1", "on", "true")
    report = connections.disconnect(calendar(request), viewer(request).principal, remove_entries=remove)
    return redirect("/profile/calendar?done=" + ("disconnected-partly" if report.problems else "disconnected"))
