"""``/api/v1/me/calendar`` and the support views: a person's calendar connection over the API (issue 4).

Thin handlers over :mod:`calsync.services.connections`. No response here carries a token: the schemas are built
from :class:`~calsync.core.connection.Connection`, which has none. Starting a connection also sets the **binding
cookie** (see :mod:`calsync.web.routes.oauth`), so only the browser (or client with a cookie jar) that started the
flow can complete it at ``/oauth/<provider>/callback``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from calsync.core.connection import RECONNECT_FIX, Connection, ConnectionStatus, Provider
from calsync.core.entry import Display
from calsync.providers.base import CalendarInfo
from calsync.services import connections
from calsync.services.connections import CalendarContext, DisconnectReport
from calsync.web.deps import Actor
from calsync.web.routes.oauth import new_binding, set_binding_cookie
from calsync.web.schemas import Request as RequestModel

router = APIRouter(tags=["calendar"])


def calendar_context(request: Request) -> CalendarContext:
    """The calendar context of the app's runtime (built once by ``create_app``)."""
    cc = request.app.state.runtime.calendar
    assert isinstance(cc, CalendarContext)
    return cc


Cal = Annotated[CalendarContext, Depends(calendar_context)]


# ---- schemas ------------------------------------------------------------------------------------------------


class TargetCalendarOut(BaseModel):
    id: str | None = Field(description="The provider's id of the calendar that receives events")
    name: str | None
    dedicated: bool = Field(description="True when calsync created this calendar for the organization's events")


class CalendarStatusOut(BaseModel):
    """A calendar connection as its owner (or support) sees it. ``connected`` alone when there is none."""

    connected: bool = Field(
        description="True when the calendar is connected and syncing; false when in error, disconnected, or never "
        "connected (then this is the only field)"
    )
    id: int | None = None
    person_id: int | None = None
    provider: Provider | None = None
    account_email: str | None = Field(default=None, description="The Google or Microsoft account connected")
    status: ConnectionStatus | None = None
    reason: str | None = Field(default=None, description="In error: what went wrong, in plain words")
    fix: str | None = Field(default=None, description="In error: what to do about it")
    need_full_sync: bool | None = Field(default=None, description="A full reconciliation is due")
    need_full_sync_reason: str | None = None
    target_calendar: TargetCalendarOut | None = None
    scopes: list[str] | None = None
    connected_at: dt.datetime | None = None
    disconnected_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = Field(default=None, description="Last sync that completed")
    last_attempt_at: dt.datetime | None = None
    last_error_at: dt.datetime | None = None
    pending_changes: int | None = Field(default=None, description="Entries waiting to be written to the calendar")
    display: Display | None = Field(
        default=None,
        description="What the calendar shows of each event: full (title, time, description, place), title_time "
        "(title and time only) or busy (the title \"Busy\", no description or place)",
    )

    @classmethod
    def none(cls) -> CalendarStatusOut:
        return cls(connected=False)

    @classmethod
    def of(cls, c: Connection) -> CalendarStatusOut:
        reason = fix = None
        if c.status is ConnectionStatus.ERROR:
            text = (c.error_reason or "This calendar connection stopped working.").strip()
            reason = text.removesuffix(RECONNECT_FIX).strip() or text
            fix = RECONNECT_FIX
        return cls(
            connected=c.status is ConnectionStatus.CONNECTED,
            id=c.id,
            person_id=c.person_id,
            provider=c.provider,
            account_email=c.account_email,
            status=c.status,
            reason=reason,
            fix=fix,
            need_full_sync=c.need_full_sync,
            need_full_sync_reason=c.need_full_sync_reason,
            target_calendar=TargetCalendarOut(
                id=c.target_calendar_id, name=c.target_calendar_name, dedicated=c.dedicated_calendar
            ),
            scopes=list(c.scopes),
            connected_at=c.connected_at,
            disconnected_at=c.disconnected_at,
            last_success_at=c.last_success_at,
            last_attempt_at=c.last_attempt_at,
            last_error_at=c.last_error_at,
            pending_changes=c.pending_changes,
            display=c.display,
        )


class ConnectIn(RequestModel):
    provider: str = Field(examples=["google", "microsoft"], description="google (Google Calendar) or microsoft")


class ConnectOut(BaseModel):
    authorization_url: str = Field(
        description="Send the person's browser here. It comes back to /oauth/<provider>/callback, which needs the "
        "binding cookie set by this response."
    )


class CalendarOut(BaseModel):
    id: str
    name: str
    primary: bool
    writable: bool
    time_zone: str | None

    @classmethod
    def of(cls, c: CalendarInfo) -> CalendarOut:
        return cls(id=c.id, name=c.name, primary=c.primary, writable=c.writable, time_zone=c.time_zone)


class TargetIn(RequestModel):
    calendar_id: str | None = Field(default=None, description="One of GET /me/calendar/calendars")
    create_dedicated: bool = Field(
        default=False, description="Create (or reuse) a calendar named after your organization instead"
    )


class DisplayIn(RequestModel):
    display: Display = Field(examples=["full", "title_time", "busy"], description="What the calendar shows")


class DisconnectIn(RequestModel):
    remove_entries: bool = Field(
        default=False, description="Also delete the entries calsync made in your calendar (default: keep them)"
    )


class DisconnectOut(BaseModel):
    provider: Provider
    revoked: bool = Field(description="The grant was revoked at the provider (Microsoft offers apps no revocation)")
    entries_removed: int
    problems: list[str] = Field(description="What could not be done at the provider; the tokens are deleted anyway")

    @classmethod
    def of(cls, r: DisconnectReport) -> DisconnectOut:
        return cls(
            provider=r.provider, revoked=r.revoked, entries_removed=r.entries_removed, problems=list(r.problems)
        )


# ---- the caller's connection --------------------------------------------------------------------------------


@router.get(
    "/me/calendar",
    summary="Your calendar connection: status, reason and fix when in error, target calendar, last sync",
    response_model_exclude_unset=True,
)
def my_calendar(cc: Cal, actor: Actor) -> CalendarStatusOut:
    found = connections.my_connection(cc, actor)
    return CalendarStatusOut.none() if found is None else CalendarStatusOut.of(found)


@router.post("/me/calendar/connect", summary="Start connecting Google Calendar or Outlook: the authorization URL")
def start_connect(body: ConnectIn, request: Request, response: Response, cc: Cal, actor: Actor) -> ConnectOut:
    provider = connections.parse_provider(body.provider)
    binding = new_binding()
    url = connections.start_connect(cc, actor, provider, binding)
    set_binding_cookie(request, response, binding)
    return ConnectOut(authorization_url=url)


@router.get("/me/calendar/calendars", summary="Your account's calendars calsync can write to (the target picker)")
def my_calendars(cc: Cal, actor: Actor) -> list[CalendarOut]:
    return [CalendarOut.of(c) for c in connections.list_calendars(cc, actor)]


@router.put(
    "/me/calendar/target",
    summary="Pick the calendar that receives events, or have calsync create a dedicated one",
    response_model_exclude_unset=True,
)
def set_target(body: TargetIn, cc: Cal, actor: Actor) -> CalendarStatusOut:
    return CalendarStatusOut.of(
        connections.set_target(cc, actor, calendar_id=body.calendar_id, create_dedicated=body.create_dedicated)
    )


@router.put(
    "/me/calendar/display",
    summary="Choose what your calendar shows of each event: full details, title and time only, or busy only",
)
def set_display(body: DisplayIn, cc: Cal, actor: Actor) -> CalendarStatusOut:
    """Existing entries are updated on the next sync round (their content, and so their fingerprint, changes)."""
    return CalendarStatusOut.of(connections.set_display(cc, actor, body.display))


@router.post(
    "/me/calendar/resync",
    summary="Resync: a full reconciliation of your calendar soon",
    response_model_exclude_unset=True,
)
def resync(cc: Cal, actor: Actor) -> CalendarStatusOut:
    return CalendarStatusOut.of(connections.request_resync(cc, actor))


@router.post(
    "/me/calendar/disconnect",
    summary="Disconnect: revoke the grant, stop notifications, delete the tokens (optionally remove entries)",
)
def disconnect(cc: Cal, actor: Actor, body: DisconnectIn | None = None) -> DisconnectOut:
    return DisconnectOut.of(
        connections.disconnect(cc, actor, remove_entries=(body or DisconnectIn()).remove_entries)
    )


# ---- support and administrators ---------------------------------------------------------------------------


@router.get(
    "/people/{person_id}/calendar",
    summary="A person's calendar connection (support and administrators of their organization; never tokens)",
    response_model_exclude_unset=True,
)
def person_calendar(person_id: int, cc: Cal, actor: Actor) -> CalendarStatusOut:
    found = connections.person_connection(cc, actor, person_id)
    return CalendarStatusOut.none() if found is None else CalendarStatusOut.of(found)


@router.get(
    "/connections",
    summary="Calendar connections in your organization, optionally by status (support and administrators)",
)
def organization_connections(
    cc: Cal,
    actor: Actor,
    status: Annotated[
        ConnectionStatus | None, Query(description="Only connections in this state: connected, error, disconnected")
    ] = None,
) -> list[CalendarStatusOut]:
    return [CalendarStatusOut.of(c) for c in connections.organization_connections(cc, actor, status)]
