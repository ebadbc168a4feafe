"""Microsoft Graph v1.0, the calendar slice (provider-facts §3): routing, auth, and the ASGI edge.

Requests are parsed once into :class:`GraphRequest` and handled by :meth:`Graph.dispatch`, which ``$batch``
also calls for each inner request (so inner requests are authorised and throttled one by one, §3.7). Paths are
matched case-insensitively on their fixed segments; ``/me/...`` and ``/users/{id | userPrincipalName}/...``
are equivalent for the signed-in user, and another user's mailbox is 403 (delegated tokens only, §3.6 notes).

Authorisation: ``Authorization: Bearer`` is required (401 ``InvalidAuthenticationToken`` when missing, unknown,
expired or revoked); reads need ``Calendars.Read`` or ``Calendars.ReadWrite``, writes ``Calendars.ReadWrite``
(403 ``ErrorAccessDenied``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette._utils import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from calsync.sandbox.base import SandboxContext
from calsync.sandbox.microsoft.errors import GraphError, access_denied, bad_request
from calsync.sandbox.microsoft.events import Mailboxes
from calsync.sandbox.microsoft.odata import Prefer, parse_prefer, parse_query
from calsync.sandbox.microsoft.render import calendar_json, event_json, user_json
from calsync.sandbox.microsoft.state import (
    AccessToken,
    Account,
    Calendar,
    Change,
    MicrosoftState,
    new_change_key,
    new_id,
)
from calsync.sandbox.microsoft.subscriptions import Subscriptions
from calsync.sandbox.microsoft.throttle import Throttle
from calsync.sandbox.microsoft.timezones import Zone, resolve
from calsync.sandbox.microsoft.views import DeltaTokens, calendar_view, delta, list_events

READ_SCOPES = frozenset({"calendars.read", "calendars.readwrite", "calendars.read.shared",
                         "calendars.readwrite.shared"})
WRITE_SCOPES = frozenset({"calendars.readwrite", "calendars.readwrite.shared"})
ACTIONS = {"accept": "accept", "tentativelyaccept": "tentativelyaccept", "decline": "decline"}
JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"


@dataclass
class GraphRequest:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes
    base: str


@dataclass
class GraphResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def _json(req: GraphRequest) -> Any:
    if not req.body.strip():
        return None
    try:
        return json.loads(req.body)
    except ValueError:
        raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header "
                                            "is set and payload is of valid JSON format.") from None


def _not_allowed(req: GraphRequest) -> GraphError:
    return GraphError(405, "Request_BadRequest", f"The HTTP method '{req.method}' is not supported for {req.path}.")


class Graph:
    """The Graph calendar API over the shared state."""

    def __init__(
        self, state: MicrosoftState, context: SandboxContext, mailboxes: Mailboxes, subscriptions: Subscriptions,
        deltas: DeltaTokens, throttle: Throttle,
    ) -> None:
        self.state = state
        self.context = context
        self.mailboxes = mailboxes
        self.subs = subscriptions
        self.deltas = deltas
        self.throttle = throttle

    # ----- auth ------------------------------------------------------------------------------------------
    def token_for(self, headers: dict[str, str]) -> AccessToken | None:
        auth = headers.get("authorization", "")
        if auth[:7].lower() != "bearer ":
            return None
        return self.state.access_tokens.get(auth[7:].strip())

    def authenticate(self, headers: dict[str, str]) -> tuple[AccessToken, Account]:
        auth = headers.get("authorization", "")
        if not auth[:7].lower() == "bearer " or not auth[7:].strip():
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
        token = self.state.access_tokens.get(auth[7:].strip())
        if token is None:
            raise GraphError(401, "InvalidAuthenticationToken",
                             "IDX14100: JWT is not well formed: the access token is not one the sandbox issued.")
        account = self.state.accounts.get(token.account_id)
        now = self.context.clock.now()
        revoked = account is None or (self.state.settings.revocation_invalidates_access_tokens and token.revoked)
        if token.expires <= now or revoked:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        assert account is not None
        return token, account

    # ----- entry -----------------------------------------------------------------------------------------
    async def dispatch(self, req: GraphRequest, *, throttled: bool = False) -> GraphResponse:
        """Handle one request; GraphErrors become the §3.8 envelope."""
        changes: list[Change] = []
        key: tuple[str, str] | None = None
        try:
            segs = [s for s in req.path.split("/") if s]
            if segs and segs[0] == "$batch":
                from calsync.sandbox.microsoft.batch import run_batch

                self.authenticate(req.headers)
                return await run_batch(self, req)
            token, caller = self.authenticate(req.headers)
            if throttled:
                key = (token.client_id, caller.id)
                self.throttle.acquire(key)
            if segs and segs[0].lower() == "subscriptions":
                return await self._subscriptions(req, token, caller, segs[1:])
            with self.state.lock:
                response = self._route(req, token, caller, segs, changes)
        except GraphError as exc:
            headers = {"content-type": "application/json", **exc.headers}
            return GraphResponse(exc.status, exc.body(req.headers.get("client-request-id")), headers)
        finally:
            if key is not None:
                self.throttle.release(key)
        self.subs.notify(changes)
        return response

    # ----- routing ---------------------------------------------------------------------------------------
    def _route(
        self, req: GraphRequest, token: AccessToken, caller: Account, segs: list[str], changes: list[Change]
    ) -> GraphResponse:
        if not segs:
            raise GraphError(400, "BadRequest", "Invalid request: name a resource such as /me/events.")
        head = segs[0].lower()
        if head == "me":
            owner, rest, prefix = caller, segs[1:], "/me"
        elif head == "users" and len(segs) >= 2:
            found = self.state.resolve_user(segs[1])
            if found is None:
                raise GraphError(404, "ErrorInvalidUser", f"The requested user '{segs[1]}' is invalid.")
            if found.id != caller.id:
                raise access_denied()
            owner, rest, prefix = found, segs[2:], f"/users/{segs[1]}"
        else:
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segs[0]}'.")
        if not rest:
            if req.method != "GET":
                raise _not_allowed(req)
            return GraphResponse(200, {"@odata.context": f"{req.base}/$metadata#users/$entity", **user_json(owner)})
        write = req.method in ("POST", "PATCH", "DELETE", "PUT")
        if not token.scopes & (WRITE_SCOPES if write else READ_SCOPES):
            raise access_denied()
        low = [s.lower() for s in rest]
        calendar: Calendar | None = None
        if low[0] == "calendars":
            if len(rest) == 1:
                return self._calendars(req, owner, changes)
            calendar = owner.calendars.get(rest[1])
            if calendar is None:
                raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            prefix += f"/calendars/{rest[1]}"
            rest, low = rest[2:], low[2:]
            if not rest:
                return self._calendar(req, owner, calendar, changes)
        elif low[0] == "calendar":
            calendar = owner.default_calendar
            prefix += "/calendar"
            rest, low = rest[1:], low[1:]
            if not rest:
                return self._calendar(req, owner, calendar, changes)
        if low[0] == "events":
            return self._events(req, owner, calendar, rest, low, prefix, changes)
        if low[0] == "calendarview":
            return self._view(req, owner, calendar, low, prefix)
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[0]}'.")

    def _zone(self, req: GraphRequest, prefer: Prefer) -> Zone | None:
        return resolve(prefer.timezone) if prefer.timezone else None

    @staticmethod
    def _applied(prefer: Prefer, zone: Zone | None, paged: bool) -> dict[str, str]:
        applied = []
        if zone is not None:
            applied.append(f'outlook.timezone="{zone.name}"')
        if paged and prefer.maxpagesize:
            applied.append(f"odata.maxpagesize={prefer.maxpagesize}")
        return {"preference-applied": ",".join(applied)} if applied else {}

    def _events(
        self, req: GraphRequest, owner: Account, calendar: Calendar | None, rest: list[str], low: list[str],
        prefix: str, changes: list[Change],
    ) -> GraphResponse:
        prefer = parse_prefer(req.headers.get("prefer"))
        zone = self._zone(req, prefer)
        if len(rest) == 1:
            if req.method == "GET":
                query = parse_query(req.params)
                body = list_events(owner, calendar, query, prefer, zone, req.base + prefix + "/" + rest[0],
                                   req.params, self.state.settings.default_page_size, req.base)
                return GraphResponse(200, body, self._applied(prefer, zone, True))
            if req.method == "POST":
                payload = _json(req)
                event, _created = self.mailboxes.create(owner, calendar or owner.default_calendar, payload, changes)
                out = event_json(event, owner, zone, None, None, req.base)
                return GraphResponse(201, out, self._applied(prefer, zone, False))
            raise _not_allowed(req)
        if low[1] == "delta":
            raise GraphError(400, "BadRequest",
                             "events/delta (without a time window) is available only in the beta endpoint; use "
                             "calendarView/delta?startDateTime=...&endDateTime=...")
        event = self.mailboxes.find(owner, rest[1], calendar)
        if len(rest) == 2:
            if req.method == "GET":
                query = parse_query(req.params)
                return GraphResponse(200, event_json(event, owner, zone, query.select, query.expand_props, req.base),
                                     self._applied(prefer, zone, False))
            if req.method == "PATCH":
                payload = _json(req)
                self.mailboxes.update(owner, event, payload, req.headers.get("if-match"), changes)
                return GraphResponse(200, event_json(event, owner, zone, None, None, req.base),
                                     self._applied(prefer, zone, False))
            if req.method == "DELETE":
                self.mailboxes.delete(owner, event, req.headers.get("if-match"), changes)
                return GraphResponse(204)
            raise _not_allowed(req)
        if len(rest) == 3 and low[2] in ACTIONS:
            if req.method != "POST":
                raise _not_allowed(req)
            body = _json(req) or {}
            if not isinstance(body, dict):
                raise bad_request("The body must be {comment?, sendResponse?}.")
            send = body.get("sendResponse", True)
            self.mailboxes.respond(owner, event, ACTIONS[low[2]], send is not False, changes)
            return GraphResponse(202)
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[2]}'.")

    def _view(
        self, req: GraphRequest, owner: Account, calendar: Calendar | None, low: list[str], prefix: str
    ) -> GraphResponse:
        if req.method != "GET":
            raise _not_allowed(req)
        prefer = parse_prefer(req.headers.get("prefer"))
        zone = self._zone(req, prefer)
        if len(low) == 1:
            query = parse_query(req.params)
            body = calendar_view(owner, calendar, query, prefer, zone, req.base + prefix + "/calendarView",
                                 req.params, self.state.settings.default_page_size, req.base)
            return GraphResponse(200, body, self._applied(prefer, zone, True))
        if len(low) == 2 and low[1] == "delta":
            target = calendar or owner.default_calendar
            if not target.is_default and not self.state.settings.allow_calendar_delta_paths:
                raise GraphError(400, "BadRequest",
                                 "calendarView/delta on a secondary calendar is disabled in this sandbox "
                                 "(settings.allow_calendar_delta_paths); use /me/calendarView/delta.")
            body = delta(self.deltas, owner, target, prefer, zone, prefix + "/calendarView/delta", req.params,
                         self.state.settings.default_page_size, req.base,
                         empty_first_page=self.state.settings.delta_empty_first_page)
            return GraphResponse(200, body, self._applied(prefer, zone, True))
        raise GraphError(400, "BadRequest", "Resource not found for the segment after calendarView.")

    def _calendars(self, req: GraphRequest, owner: Account, changes: list[Change]) -> GraphResponse:
        if req.method == "GET":
            prefer = parse_prefer(req.headers.get("prefer"))
            query = parse_query({k: v for k, v in req.params.items() if k in ("$top", "$skip")})
            cals = sorted(owner.calendars.values(), key=lambda c: (not c.is_default, c.name.lower()))
            size = query.top if query.top is not None else (prefer.maxpagesize or self.state.settings.default_page_size)
            chunk = cals[query.skip : query.skip + max(size, 1)]
            body: dict[str, Any] = {
                "@odata.context": f"{req.base}/$metadata#users('{owner.email}')/calendars",
                "value": [calendar_json(c, owner) for c in chunk],
            }
            if query.skip + size < len(cals):
                nxt = dict(req.params)
                nxt["$skip"] = str(query.skip + size)
                body["@odata.nextLink"] = (f"{req.base}{req.path}?" + "&".join(f"{k}={v}" for k, v in nxt.items()))
            return GraphResponse(200, body)
        if req.method == "POST":
            payload = _json(req)
            name = payload.get("name") if isinstance(payload, dict) else None
            if not isinstance(name, str) or not name.strip():
                raise bad_request("A calendar needs a non-empty 'name'.")
            if self.state.settings.duplicate_calendar_name_conflict and any(
                c.name.lower() == name.strip().lower() for c in owner.calendars.values()
            ):
                raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
            cal = Calendar(id=new_id("AAMkAGI2Cal"), name=name.strip(), is_default=False,
                           change_key=new_change_key())
            owner.calendars[cal.id] = cal
            return GraphResponse(201, {"@odata.context": f"{req.base}/$metadata#users('{owner.email}')/calendars"
                                       "/$entity", **calendar_json(cal, owner)})
        raise _not_allowed(req)

    def _calendar(self, req: GraphRequest, owner: Account, cal: Calendar, changes: list[Change]) -> GraphResponse:
        if req.method == "GET":
            return GraphResponse(200, calendar_json(cal, owner))
        if req.method == "PATCH":
            payload = _json(req)
            if isinstance(payload, dict) and isinstance(payload.get("name"), str) and payload["name"].strip():
                cal.name = payload["name"].strip()
                cal.change_key = new_change_key()
            return GraphResponse(200, calendar_json(cal, owner))
        if req.method == "DELETE":
            if cal.is_default:
                raise bad_request("The default calendar cannot be deleted.", "ErrorCannotDeleteObject")
            for ev in list(owner.events.values()):
                if ev.calendar_id == cal.id and not ev.deleted:
                    self.mailboxes.delete(owner, ev, None, changes)
            del owner.calendars[cal.id]
            return GraphResponse(204)
        raise _not_allowed(req)

    async def _subscriptions(
        self, req: GraphRequest, token: AccessToken, caller: Account, rest: list[str]
    ) -> GraphResponse:
        if not token.scopes & READ_SCOPES:
            raise access_denied()
        if not rest:
            if req.method == "POST":
                sub = await self.subs.create(caller, token.client_id, _json(req))
                return GraphResponse(201, {"@odata.context": f"{req.base}/$metadata#subscriptions/$entity",
                                           **sub.as_json()})
            if req.method == "GET":
                with self.state.lock:
                    subs = self.subs.listing(caller, token.client_id)
                return GraphResponse(200, {"@odata.context": f"{req.base}/$metadata#subscriptions",
                                           "value": [s.as_json() for s in subs]})
            raise _not_allowed(req)
        with self.state.lock:
            if req.method == "GET":
                return GraphResponse(200, self.subs.get(caller, token.client_id, rest[0]).as_json())
            if req.method == "PATCH":
                return GraphResponse(200, self.subs.renew(caller, token.client_id, rest[0], _json(req)).as_json())
            if req.method == "DELETE":
                self.subs.delete(caller, token.client_id, rest[0])
                return GraphResponse(204)
        raise _not_allowed(req)


def _encode(response: GraphResponse) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    headers = {k.lower(): v for k, v in response.headers.items()}
    body = b""
    if response.body is not None:
        body = json.dumps(response.body, separators=(",", ":")).encode()
        if headers.get("content-type", "application/json").startswith("application/json"):
            headers["content-type"] = JSON_TYPE
    headers.setdefault("request-id", str(uuid.uuid4()))
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    return body, raw


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def request_from_scope(scope: Scope, body: bytes) -> GraphRequest:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    params: dict[str, str] = {}
    for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        params.setdefault(k.lower(), v)
    host = headers.get("host", "localhost")
    base = f"{scope.get('scheme', 'https')}://{host}{scope.get('root_path', '')}"
    return GraphRequest(scope["method"], get_route_path(scope), params, headers, body, base)


class GraphEndpoint:
    """The innermost ASGI app: parse, dispatch, encode."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        req = request_from_scope(scope, await _read_body(receive))
        response = await self.graph.dispatch(req)
        body, raw = _encode(response)
        await send({"type": "http.response.start", "status": response.status, "headers": raw})
        await send({"type": "http.response.body", "body": body})


class ThrottleLayer:
    """Outermost Graph layer: holds a mailbox concurrency slot for the whole request (latency faults included)."""

    def __init__(self, app: ASGIApp, graph: Graph) -> None:
        self.app = app
        self.graph = graph

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or get_route_path(scope).startswith("/$batch"):
            await self.app(scope, receive, send)
            return
        auth = b""
        for k, v in scope["headers"]:
            if k == b"authorization":
                auth = v
                break
        token = self.graph.token_for({"authorization": auth.decode("latin-1")}) if auth else None
        if token is None:
            await self.app(scope, receive, send)
            return
        key = (token.client_id, token.account_id)
        try:
            self.graph.throttle.acquire(key)
        except GraphError as exc:
            body, raw = _encode(GraphResponse(exc.status, exc.body(), {"content-type": "application/json",
                                                                         **exc.headers}))
            await send({"type": "http.response.start", "status": exc.status, "headers": raw})
            await send({"type": "http.response.body", "body": body})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.graph.throttle.release(key)
