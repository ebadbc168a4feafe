"""The Google admin API under ``/admin/google`` (JSON): the same operations as GoogleSandbox's Python methods.

Errors answer ``{"error": "..."}`` with a sentence that says what to send instead.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from calsync.sandbox.google.errors import ApiError

if TYPE_CHECKING:
    from calsync.sandbox.google import GoogleSandbox

Endpoint = Callable[[Request], Awaitable[Response]]


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _wrap(fn: Callable[[Request, dict[str, Any]], Any]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        try:
            body = await _json(request) if request.method in ("POST", "PUT", "PATCH") else {}
            result = fn(request, body)
        except ApiError as exc:
            return JSONResponse({"error": exc.message, "reason": exc.reason}, exc.status)
        except KeyError as exc:
            return JSONResponse({"error": f"missing field {exc}"}, 400)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(result if result is not None else {"ok": True})

    return endpoint


def admin_routes(g: GoogleSandbox) -> list[BaseRoute]:
    def email(request: Request) -> str:
        return str(request.path_params["email"])

    def r(path: str, method: str, fn: Callable[[Request, dict[str, Any]], Any]) -> Route:
        return Route(path, _wrap(fn), methods=[method])

    return [
        r("/clients", "POST", lambda q, b: vars(g.register_client(
            b["client_id"], b["client_secret"], list(b["redirect_uris"]))) | {"redirect_uris": b["redirect_uris"]}),
        r("/accounts", "GET", lambda q, b: g.accounts()),
        r("/accounts", "POST", lambda q, b: g.create_account(b["email"], time_zone=b.get("time_zone", "UTC"))),
        r("/accounts/{email}/revoke", "POST", lambda q, b: {"revoked": g.revoke_grants(email(q))}),
        r("/accounts/{email}/password-changed", "POST", lambda q, b: {"revoked": g.password_changed(email(q))}),
        r("/accounts/{email}/expire-refresh-tokens", "POST",
          lambda q, b: {"expired": g.expire_refresh_tokens(email(q))}),
        r("/accounts/{email}/tokens", "POST", lambda q, b: g.grant_tokens(
            email(q), b["client_id"], list(b["scopes"]), offline=bool(b.get("offline", True)))),
        r("/accounts/{email}/events", "GET", lambda q, b: g.events(
            email(q), q.query_params.get("calendar_id", "primary"))),
        r("/accounts/{email}/respond", "POST", lambda q, b: g.respond(
            email(q), b["event_id"], b["status"], calendar_id=b.get("calendar_id", "primary"),
            comment=b.get("comment"))),
        r("/accounts/{email}/delete", "POST", lambda q, b: g.delete_event(
            email(q), b["event_id"], calendar_id=b.get("calendar_id", "primary"))),
        r("/sync-tokens/expire", "POST", lambda q, b: g.expire_sync_tokens()),
        r("/quotas", "GET", lambda q, b: g.quotas.as_dict()),
        r("/quotas", "PUT", lambda q, b: g.set_quotas(**{
            k: b[k] for k in ("per_user", "per_project", "project_status") if k in b})),
        r("/channels", "GET", lambda q, b: g.channels()),
        r("/channels/max-ttl", "PUT", lambda q, b: g.set_max_channel_ttl(float(b["seconds"]))),
        r("/reset", "POST", lambda q, b: g.reset()),
    ]
