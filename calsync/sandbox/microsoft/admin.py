"""``/admin/microsoft``: the JSON face of :class:`~calsync.sandbox.microsoft.MicrosoftSandbox`'s Python API.

Each route calls the same Python method tests use, so the two can never drift. Errors are
``{"error": "what to fix"}`` with 400 (bad input) or 404 (unknown account, event or subscription).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from calsync.sandbox.microsoft.errors import GraphError

if TYPE_CHECKING:
    from calsync.sandbox.microsoft import MicrosoftSandbox

Handler = Callable[[Request], Awaitable[Response]]


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = await request.json()
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _guard(fn: Callable[[Request], Awaitable[Any]], status: int = 200) -> Handler:
    async def handler(request: Request) -> Response:
        try:
            result = await fn(request)
        except KeyError as exc:
            return JSONResponse({"error": str(exc.args[0]) if exc.args else "not found"}, 404)
        except GraphError as exc:
            return JSONResponse({"error": exc.message, "code": exc.code}, exc.status)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(result, status)

    return handler


def admin_routes(ms: MicrosoftSandbox) -> list[BaseRoute]:
    def email(request: Request) -> str:
        return str(request.path_params["email"])

    async def register(request: Request) -> Any:
        b = await _body(request)
        if not isinstance(b.get("client_id"), str) or not isinstance(b.get("redirect_uris"), list):
            raise ValueError('send {"client_id": "...", "client_secret": "..." (omit for a public client), '
                             '"redirect_uris": ["https://..."]}')
        ms.register_client(b["client_id"], b.get("client_secret"), b["redirect_uris"])
        return {"client_id": b["client_id"], "confidential": b.get("client_secret") is not None}

    async def accounts(request: Request) -> Any:
        return ms.accounts()

    async def create_account(request: Request) -> Any:
        b = await _body(request)
        if not isinstance(b.get("email"), str):
            raise ValueError('send {"email": "user@example.com", "name": "optional"}')
        return ms.create_account(b["email"], b.get("name"))

    def account_action(name: str) -> Handler:
        async def run(request: Request) -> Any:
            b = await _body(request)
            method = getattr(ms, name)
            if name == "revoke_consent":
                return {"affected": method(email(request), b.get("client_id"))}
            return {"affected": method(email(request))}

        return _guard(run)

    async def events(request: Request) -> Any:
        return ms.events(email(request), include_deleted=request.query_params.get("include_deleted") == "true")

    async def create_event(request: Request) -> Any:
        b = await _body(request)
        return ms.create_event_as(email(request), b.get("event", b), b.get("calendar_id"))

    async def respond(request: Request) -> Any:
        b = await _body(request)
        ms.respond_as(email(request), request.path_params["event_id"], request.path_params["action"],
                      send_response=b.get("sendResponse", True) is not False)
        return {"ok": True}

    async def delete_event(request: Request) -> Any:
        ms.delete_as(email(request), request.path_params["event_id"])
        return {"ok": True}

    async def expire_delta(request: Request) -> Any:
        b = await _body(request)
        return {"expired": ms.expire_delta_tokens(b.get("email"))}

    async def get_settings(request: Request) -> Any:
        return ms.settings_dict()

    async def put_settings(request: Request) -> Any:
        ms.update_settings(await _body(request))
        return ms.settings_dict()

    async def throttling(request: Request) -> Any:
        b = await _body(request)
        ms.set_throttling(b.get("mailbox_concurrency"), b.get("requests_per_window"), b.get("window_seconds"))
        return ms.settings_dict()

    async def max_lifetime(request: Request) -> Any:
        b = await _body(request)
        if "minutes" not in b:
            raise ValueError('send {"minutes": N}')
        ms.set_max_subscription_minutes(int(b["minutes"]))
        return ms.settings_dict()

    async def subscriptions(request: Request) -> Any:
        return ms.subscriptions()

    async def lifecycle(request: Request) -> Any:
        b = await _body(request)
        if not isinstance(b.get("event"), str):
            raise ValueError('send {"event": "reauthorizationRequired" | "subscriptionRemoved" | "missed"}')
        ms.send_lifecycle(request.path_params["sub_id"], b["event"])
        return {"ok": True}

    async def reset(request: Request) -> Any:
        ms.reset()
        return {"ok": True}

    return [
        Route("/clients", _guard(register, 201), methods=["POST"]),
        Route("/accounts", _guard(accounts), methods=["GET"]),
        Route("/accounts", _guard(create_account, 201), methods=["POST"]),
        Route("/accounts/{email}/revoke", account_action("revoke"), methods=["POST"]),
        Route("/accounts/{email}/password-changed", account_action("password_changed"), methods=["POST"]),
        Route("/accounts/{email}/expire-refresh-tokens", account_action("expire_refresh_tokens"), methods=["POST"]),
        Route("/accounts/{email}/revoke-consent", account_action("revoke_consent"), methods=["POST"]),
        Route("/accounts/{email}/events", _guard(events), methods=["GET"]),
        Route("/accounts/{email}/events", _guard(create_event, 201), methods=["POST"]),
        Route("/accounts/{email}/events/{event_id}/{action}", _guard(respond), methods=["POST"]),
        Route("/accounts/{email}/events/{event_id}", _guard(delete_event), methods=["DELETE"]),
        Route("/delta/expire", _guard(expire_delta), methods=["POST"]),
        Route("/settings", _guard(get_settings), methods=["GET"]),
        Route("/settings", _guard(put_settings), methods=["PUT", "PATCH"]),
        Route("/throttling", _guard(throttling), methods=["PUT"]),
        Route("/subscriptions/max-lifetime", _guard(max_lifetime), methods=["PUT"]),
        Route("/subscriptions", _guard(subscriptions), methods=["GET"]),
        Route("/subscriptions/{sub_id}/lifecycle", _guard(lifecycle), methods=["POST"]),
        Route("/reset", _guard(reset), methods=["POST"]),
    ]
