"""The sandbox as one ASGI app: both provider emulators, the admin API and the calendar pages.

URL space (one HTTPS origin):

- ``/google/...``: Google OAuth (``/google/o/oauth2/v2/auth``, ``/google/token``, ``/google/revoke``) and
  Calendar v3 (``/google/calendar/v3/...``, batch at ``/google/batch/calendar/v3``);
- ``/graph/v1.0/...``: Microsoft Graph; ``/{tenant}/oauth2/v2.0/...`` and
  ``/{tenant}/v2.0/.well-known/openid-configuration``: the Microsoft identity platform (MSAL takes the tenant
  from the first path segment of the authority, so the authority is ``https://host:port/common``);
- ``/admin/...``: faults, the clock and per-provider admin (not faulted);
- ``/calendar/{provider}/{email}``: the calendar page a person uses; ``/``: an index of accounts.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from calsync.sandbox.base import ProviderSandbox, SandboxContext
from calsync.sandbox.clock import Clock
from calsync.sandbox.delivery import Notifier
from calsync.sandbox.faults import Faults

INDEX_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330;line-height:1.45}"
    "main{max-width:42rem;margin:0 auto;padding:1rem}h1{font-size:1.5rem}h2{font-size:1.1rem}"
    "ul{list-style:none;padding:0}li{background:#fff;border:1px solid #d9dde4;border-radius:8px;margin:.5rem 0}"
    "li a{display:block;padding:.75rem 1rem;min-height:44px;box-sizing:border-box;color:#1f5fbf}"
    "li.muted,.muted{color:#5b6475}li.muted{padding:.75rem 1rem}"
)
"""The index page's stylesheet: the same quiet look as the account pages, readable on a phone."""


class Sandbox:
    """Both emulators with shared clock, faults and notifier. Use :attr:`app` in-process or serve it over TLS."""

    def __init__(
        self,
        *,
        auto_consent: bool = False,
        allow_http_loopback_notifications: bool = True,
        seed: int | None = None,
        notification_transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        from calsync.sandbox.google import GoogleSandbox
        from calsync.sandbox.microsoft import MicrosoftSandbox

        self.clock = clock or Clock()
        self.faults = Faults(seed)
        self.notifier = Notifier(self.faults, notification_transport)
        self.context = SandboxContext(
            clock=self.clock,
            faults=self.faults,
            notifier=self.notifier,
            auto_consent=auto_consent,
            allow_http_loopback_notifications=allow_http_loopback_notifications,
        )
        self.google = GoogleSandbox(self.context)
        self.microsoft = MicrosoftSandbox(self.context)
        self.app = self._build_app()

    @property
    def providers(self) -> list[ProviderSandbox]:
        return [self.google, self.microsoft]

    def endpoint_map(self, base_url: str, ca_bundle: Path | str) -> dict[str, Any]:
        """The JSON object ``calsync sandbox`` prints: where each client should point."""
        base = base_url.rstrip("/")
        out: dict[str, Any] = {"ca_bundle": str(ca_bundle), "base_url": base, "admin": f"{base}/admin"}
        for provider in self.providers:
            out[provider.name] = provider.endpoints(base)
        return out

    def reset(self) -> None:
        """Back to an empty, healthy sandbox (faults cleared, every account forgotten)."""
        self.faults.reset()
        for provider in self.providers:
            provider.reset()

    def _build_app(self) -> Starlette:
        admin: list[BaseRoute] = [
            Route("/faults", self._get_faults, methods=["GET"]),
            Route("/faults/reset", self._reset_faults, methods=["POST"]),
            Route("/faults/{provider}", self._put_faults, methods=["PUT", "PATCH"]),
            Route("/clock/advance", self._advance_clock, methods=["POST"]),
            Route("/deliveries", self._deliveries, methods=["GET"]),
            Route("/reset", self._reset_all, methods=["POST"]),
        ]
        admin += [Mount(f"/{p.name}", routes=p.admin_routes()) for p in self.providers]
        routes: list[BaseRoute] = [
            Route("/", self._index, methods=["GET"]),
            Mount("/admin", routes=admin),
        ]
        routes += [Mount(f"/calendar/{p.name}", routes=p.page_routes()) for p in self.providers]
        for provider in self.providers:
            routes += provider.routes()

        @asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            self.notifier.bind_loop(asyncio.get_running_loop())
            yield

        return Starlette(routes=routes, lifespan=lifespan)

    async def _index(self, request: Request) -> Response:
        items = []
        for provider in self.providers:
            for email in provider.account_emails():
                href = f"/calendar/{provider.name}/{email}"
                label = html.escape(f"{provider.name}: {email}")
                items.append(f'<li><a href="{html.escape(href)}">{label}</a></li>')
        body = "".join(items) or '<li class=muted>No accounts yet: connect one from calsync.</li>'
        return HTMLResponse(
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width,initial-scale=1"><link rel=icon href="data:,">'
            f"<title>calsync sandbox</title><style>{INDEX_STYLE}</style></head><body><main>"
            "<h1>calsync sandbox</h1>"
            "<p class=muted>The local stand-ins for Google Calendar and Outlook. Open an account to see its "
            "calendar as its owner would, and answer, change or delete events there.</p>"
            f'<h2>Accounts</h2><ul data-testid="accounts">{body}</ul></main></body></html>'
        )

    async def _get_faults(self, request: Request) -> Response:
        return JSONResponse({p.name: self.faults.plan(p.name).as_dict() for p in self.providers})

    async def _put_faults(self, request: Request) -> Response:
        name = request.path_params["provider"]
        try:
            plan = self.faults.plan(name)
        except KeyError:
            return JSONResponse({"error": f"unknown provider {name!r}; use google or microsoft"}, 404)
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object of fault settings")
            plan.update(changes)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(plan.as_dict())

    async def _reset_faults(self, request: Request) -> Response:
        self.faults.reset()
        return JSONResponse({"ok": True})

    async def _advance_clock(self, request: Request) -> Response:
        try:
            seconds = float((await request.json())["seconds"])
            self.clock.advance(seconds)
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f"send {{\"seconds\": N}} with N >= 0 ({exc})"}, 400)
        return JSONResponse({"now": self.clock.now()})

    async def _deliveries(self, request: Request) -> Response:
        return JSONResponse([vars(d) for d in self.notifier.deliveries[-500:]])

    async def _reset_all(self, request: Request) -> Response:
        self.reset()
        return JSONResponse({"ok": True})
