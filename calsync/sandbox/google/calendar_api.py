"""The Calendar v3 HTTP surface: routes, bearer-token auth with scope checks, quotas and JSON in and out.

Mounted at ``/google/calendar/v3`` (what ``client_options={"api_endpoint": ...}`` points googleapiclient at,
§1.7) inside FaultMiddleware. Handlers are async and hold the state lock only for the in-memory work, so the
emulator stays fast (the sandbox must serve thousands of simple requests a second).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from calsync.sandbox.google import auth as scopes
from calsync.sandbox.google.auth import Caller, OAuth
from calsync.sandbox.google.errors import JSON_TYPE, ApiError, auth_error, bad_request, insufficient_scopes, required
from calsync.sandbox.google.events import Events
from calsync.sandbox.google.listing import Listing
from calsync.sandbox.google.quota import Quotas
from calsync.sandbox.google.state import Calendar, GoogleState, StoredEvent, random_base32hex
from calsync.sandbox.google.times import zone
from calsync.sandbox.google.watch import Watches

API_PREFIX = "/google/calendar/v3"
Handler = Callable[[Request, Caller], Awaitable[Response]]


def json_response(payload: Any, status: int = 200, etag: str | None = None) -> Response:
    headers = {"ETag": etag} if etag else None
    return Response(json.dumps(payload).encode(), status, headers, media_type=JSON_TYPE)


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, "parseError", "Parse Error") from None


class CalendarApi:
    """Routes of Calendar v3; see the module docstring."""

    def __init__(
        self, state: GoogleState, oauth: OAuth, quotas: Quotas, events: Events, listing: Listing, watches: Watches
    ) -> None:
        self.state = state
        self.oauth = oauth
        self.quotas = quotas
        self.events = events
        self.listing = listing
        self.watches = watches

    def router(self) -> Router:
        def r(path: str, handler: Handler, needed: frozenset[str], method: str) -> Route:
            return Route(path, self._endpoint(handler, needed), methods=[method])

        ev = "/calendars/{calendarId}/events"
        return Router(
            routes=[
                r("/users/me/calendarList", self.calendar_list, scopes.CALENDARS_READ, "GET"),
                r("/calendars", self.calendars_insert, scopes.CALENDARS_WRITE, "POST"),
                r("/calendars/{calendarId}", self.calendars_get, scopes.CALENDARS_READ, "GET"),
                r(ev, self.events_list, scopes.EVENTS_READ, "GET"),
                r(ev, self.events_insert, scopes.EVENTS_WRITE, "POST"),
                r(ev + "/import", self.events_import, scopes.EVENTS_WRITE, "POST"),
                r(ev + "/watch", self.events_watch, scopes.EVENTS_READ, "POST"),
                r(ev + "/{eventId}", self.events_get, scopes.EVENTS_READ, "GET"),
                r(ev + "/{eventId}", self.events_update, scopes.EVENTS_WRITE, "PUT"),
                r(ev + "/{eventId}", self.events_patch, scopes.EVENTS_WRITE, "PATCH"),
                r(ev + "/{eventId}", self.events_delete, scopes.EVENTS_WRITE, "DELETE"),
                r("/channels/stop", self.channels_stop, scopes.ANY_CALENDAR, "POST"),
            ],
            default=self._not_found,
        )

    async def _not_found(self, scope: Any, receive: Any, send: Any) -> None:
        response = ApiError(404, "notFound", "Not Found").response()
        await response(scope, receive, send)

    def _endpoint(self, handler: Handler, needed: frozenset[str]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                caller = self.oauth.caller(request.headers.get("authorization"))
                if caller is None:
                    raise auth_error()
                if not caller.scopes & needed:
                    raise insufficient_scopes()
                self.quotas.admit(caller.account, caller.client_id)
                return await handler(request, caller)
            except ApiError as exc:
                return exc.response()

        return endpoint

    # --- calendars --------------------------------------------------------------------------------------
    async def calendar_list(self, request: Request, caller: Caller) -> Response:
        """calendarList.list: the caller's calendars, primary first; maxResults default 100, max 250 (§1.1)."""
        params = request.query_params
        if "syncToken" in params:
            raise bad_request("calendarList syncToken is not supported by the sandbox.", location="syncToken")
        try:
            size = min(int(params.get("maxResults", 100)), 250)
            start = int(params.get("pageToken", "0") or 0)
        except ValueError:
            raise bad_request("Invalid maxResults or pageToken.") from None
        if size < 1:
            raise bad_request("Invalid maxResults: it must be at least 1.", location="maxResults")
        with self.state.lock:
            cals = sorted(self.state.calendars_of(caller.account), key=lambda c: (not c.primary, c.summary, c.id))
            page = cals[start:start + size]
            items = []
            for cal in page:
                item: dict[str, Any] = {
                    "kind": "calendar#calendarListEntry", "etag": f'"{cal.resource_id}"', "id": cal.id,
                    "summary": cal.summary, "timeZone": cal.time_zone, "colorId": "14",
                    "backgroundColor": "#9fe1e7", "foregroundColor": "#000000", "selected": True,
                    "accessRole": "owner", "defaultReminders": [],
                    "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
                }
                if cal.description:
                    item["description"] = cal.description
                if cal.primary:
                    item["primary"] = True
                items.append(item)
        out: dict[str, Any] = {"kind": "calendar#calendarList", "etag": '"cl"', "items": items}
        if start + size < len(cals):
            out["nextPageToken"] = str(start + size)
        else:
            out["nextSyncToken"] = "calendarList-not-incremental"
        return json_response(out)

    async def calendars_insert(self, request: Request, caller: Caller) -> Response:
        """calendars.insert: a secondary calendar owned by the caller, id ``<random>@group.calendar.google.com``."""
        body = await read_json(request)
        if not isinstance(body, dict) or not body.get("summary"):
            raise required("Missing title.")
        tz = body.get("timeZone") or "UTC"
        if zone(str(tz)) is None:
            raise bad_request(f"Invalid time zone {tz!r}: use an IANA name such as Europe/Berlin.")
        with self.state.lock:
            cal_id = f"c_{random_base32hex(40)}@group.calendar.google.com"
            cal = Calendar(
                id=cal_id, owner=caller.account, summary=str(body["summary"]), time_zone=str(tz), primary=False,
                resource_id=random_base32hex(27), description=body.get("description"), location=body.get("location"),
            )
            self.state.calendars[cal_id] = cal
        return json_response(self._calendar(cal))

    async def calendars_get(self, request: Request, caller: Caller) -> Response:
        with self.state.lock:
            cal = self.events.calendar(caller.account, request.path_params["calendarId"])
            return json_response(self._calendar(cal))

    @staticmethod
    def _calendar(cal: Calendar) -> dict[str, Any]:
        out = {"kind": "calendar#calendar", "etag": f'"{cal.resource_id}"', "id": cal.id, "summary": cal.summary,
               "timeZone": cal.time_zone,
               "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}}
        if cal.description:
            out["description"] = cal.description
        if cal.location:
            out["location"] = cal.location
        return out

    # --- events -----------------------------------------------------------------------------------------
    def _event_response(self, cal: Calendar, ev: StoredEvent) -> Response:
        return json_response(self.events.render(cal, ev), etag=ev.etag)

    async def events_list(self, request: Request, caller: Caller) -> Response:
        with self.state.lock:
            cal = self.events.calendar(caller.account, request.path_params["calendarId"])
            return json_response(self.listing.page(cal, request.query_params))

    async def events_get(self, request: Request, caller: Caller) -> Response:
        with self.state.lock:
            cal = self.events.calendar(caller.account, request.path_params["calendarId"])
            ev = self.events.get(cal, request.path_params["eventId"])
            if request.headers.get("if-none-match") == ev.etag:
                return Response(status_code=304, headers={"ETag": ev.etag})
            return self._event_response(cal, ev)

    async def events_insert(self, request: Request, caller: Caller) -> Response:
        body = await read_json(request)
        with self.state.lock:
            cal = self.events.calendar(caller.account, request.path_params["calendarId"])
            return self._event_response(cal, self.events.insert(cal, self._body(body)))

    async def events_import(self, request: Request, caller: Caller) -> Response:
        body = await read_json(request)
        with self.state.lock:
            cal = self.events.calendar(caller.account, request.path_params["calendarId"])
            return self._event_response(cal, self.events.import_(cal, self._body(body)))

    async def events_update(self, request: Request, caller: Caller) -> Response:
        body = await read_json(request)
        with self.state.lock:
            cal = self.events.calendar(caller.account, request.path_params["calendarId"])
            ev = self.events.update(
                cal, request.path_params["eventId"], self._body(body), request.headers.get("if-match")
            )
            return self._event_response(cal, ev)

    async def events_patch(self, request: Request, caller: Caller) -> Response:
        body = await read_json(request)
        with self.state.lock:
            cal = self.events.calendar(caller.account, request.path_params["calendarId"])
            ev = self.events.patch(
                cal, request.path_params["eventId"], self._body(body), request.headers.get("if-match")
            )
            return self._event_response(cal, ev)

    async def events_delete(self, request: Request, caller: Caller) -> Response:
        with self.state.lock:
            cal = self.events.calendar(caller.account, request.path_params["calendarId"])
            self.events.delete(cal, request.path_params["eventId"], request.headers.get("if-match"))
        return Response(status_code=204)

    async def events_watch(self, request: Request, caller: Caller) -> Response:
        body = await read_json(request)
        api_base = f"{request.url.scheme}://{request.url.netloc}{API_PREFIX}/"
        with self.state.lock:
            cal = self.events.calendar(caller.account, request.path_params["calendarId"])
            return json_response(self.watches.create(caller, cal, body, api_base))

    async def channels_stop(self, request: Request, caller: Caller) -> Response:
        body = await read_json(request)
        with self.state.lock:
            self.watches.stop(caller, body)
        return Response(status_code=204)

    @staticmethod
    def _body(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object (an Event resource).")
        return body
