"""The Google emulator: Google OAuth 2.0 and Google Calendar API v3 (provider-facts §1 and §2).

:class:`GoogleSandbox` is the ProviderSandbox the sandbox shell composes. Its public Python API (also served as
JSON under ``/admin/google``, see :mod:`calsync.sandbox.google.admin`) lets tests register OAuth clients, act as
a person (respond, delete), inject account-level faults (revoke grants, password changed, expire refresh or sync
tokens), tune quotas and channel lifetimes, and read what an account's calendar holds. See docs/sandbox-google.md.
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, Router

from calsync.sandbox.base import SandboxContext
from calsync.sandbox.faults import FaultMiddleware
from calsync.sandbox.google.admin import admin_routes
from calsync.sandbox.google.auth import OAuth
from calsync.sandbox.google.batch import handle_batch
from calsync.sandbox.google.calendar_api import API_PREFIX, CalendarApi
from calsync.sandbox.google.errors import bad_request, render_api_fault, render_oauth_fault
from calsync.sandbox.google.events import RESPONSES, Events
from calsync.sandbox.google.listing import Listing
from calsync.sandbox.google.oauth import OAuthEndpoints
from calsync.sandbox.google.pages import Pages
from calsync.sandbox.google.quota import Quotas
from calsync.sandbox.google.state import Calendar, GoogleState
from calsync.sandbox.google.watch import Watches

__all__ = ["GoogleSandbox"]

AUTHORIZE_PATH = "/google/o/oauth2/v2/auth"
TOKEN_PATH = "/google/token"
REVOKE_PATH = "/google/revoke"
BATCH_PATH = "/google/batch/calendar/v3"


class GoogleSandbox:
    """Google OAuth + Calendar v3 emulator (see the module docstring and docs/sandbox-google.md)."""

    name = "google"

    def __init__(self, context: SandboxContext) -> None:
        self.context = context
        self.state = GoogleState(context.clock)
        self.oauth = OAuth(self.state)
        self.quotas = Quotas(context.clock)
        self.watches = Watches(self.state, context)
        self.event_ops = Events(self.state, self.watches.changed)
        self.listing = Listing(self.state, self.event_ops)
        self.api = CalendarApi(self.state, self.oauth, self.quotas, self.event_ops, self.listing, self.watches)
        self._oauth_http = OAuthEndpoints(self.oauth, context)
        self._api_app = FaultMiddleware(
            self.api.router(), faults=context.faults, provider="google", render_error=render_api_fault
        )
        self._dispatch = Router(routes=[Mount(API_PREFIX, app=self._api_app)])

    # --- ProviderSandbox ---------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        token = FaultMiddleware(
            Router(routes=[
                Route(TOKEN_PATH, self._oauth_http.token, methods=["POST"]),
                Route(REVOKE_PATH, self._oauth_http.revoke, methods=["POST"]),
            ]),
            faults=self.context.faults, provider="google", render_error=render_oauth_fault,
        )
        batch = FaultMiddleware(
            Router(routes=[Route(BATCH_PATH, self._batch, methods=["POST"])]),
            faults=self.context.faults, provider="google", render_error=render_api_fault,
        )
        return [
            Route(AUTHORIZE_PATH, self._oauth_http.authorize, methods=["GET"]),
            Route(AUTHORIZE_PATH, self._oauth_http.consent, methods=["POST"]),
            Mount(API_PREFIX, app=self._api_app),
            Route(TOKEN_PATH, token, methods=["POST"]),
            Route(REVOKE_PATH, token, methods=["POST"]),
            Route(BATCH_PATH, batch, methods=["POST"]),
        ]

    async def _batch(self, request: Request) -> Response:
        return await handle_batch(self._dispatch, request)

    def admin_routes(self) -> list[BaseRoute]:
        return admin_routes(self)

    def page_routes(self) -> list[BaseRoute]:
        return Pages(self).routes()

    def endpoints(self, base_url: str) -> dict[str, str]:
        base = base_url.rstrip("/")
        return {
            "authorize": base + AUTHORIZE_PATH,
            "token": base + TOKEN_PATH,
            "revoke": base + REVOKE_PATH,
            "calendar_api": base + API_PREFIX + "/",
            "batch": base + BATCH_PATH,
        }

    def account_emails(self) -> list[str]:
        with self.state.lock:
            return sorted(self.state.accounts)

    def reset(self) -> None:
        """Forget every client, account, calendar, event, grant, token and channel; default quotas and TTLs."""
        with self.state.lock:
            self.state.reset()
            self.watches.reset()
            self.quotas.reset()
            self.oauth.refresh_token_lifetime = None

    # --- clients and accounts ----------------------------------------------------------------------------
    def register_client(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> Any:
        """Register an OAuth client; authorize accepts only these exact redirect URIs."""
        return self.oauth.register_client(client_id, client_secret, redirect_uris)

    def create_account(self, email: str, *, time_zone: str = "UTC") -> dict[str, Any]:
        """Create an account (and its primary calendar) ahead of consent, e.g. to receive invitations."""
        account = self.state.ensure_account(email, time_zone=time_zone)
        return {"email": account.email, "time_zone": account.time_zone}

    def accounts(self) -> list[dict[str, Any]]:
        """Accounts with their calendars and the clients they granted access to."""
        with self.state.lock:
            return [
                {
                    "email": a.email,
                    "calendars": [c.id for c in self.state.calendars_of(a.email)],
                    "grants": sorted(c for (e, c) in self.state.grants if e == a.email),
                }
                for a in self.state.accounts.values()
            ]

    def grant_tokens(
        self, email: str, client_id: str, scopes: list[str], *, offline: bool = True
    ) -> dict[str, Any]:
        """Consent and exchange without a browser; returns the token endpoint's JSON."""
        return self.oauth.grant_tokens(email, client_id, scopes, offline=offline)

    # --- account faults ----------------------------------------------------------------------------------
    def revoke_grants(self, email: str) -> int:
        """The user removes the apps' access: every grant of the account is revoked (invalid_grant)."""
        return self.oauth.revoke_account(email)

    def password_changed(self, email: str) -> int:
        """The user changed their password. Real Google revokes refresh tokens on a password change only for
        grants with Gmail scopes, or under an admin's session-control policy (§2); the sandbox always does, so
        calsync's handling of that case can be exercised."""
        return self.oauth.revoke_account(email)

    def expire_refresh_tokens(self, email: str) -> int:
        """The account's refresh tokens expire (unused 6 months, or 7 days in "Testing" apps, §2)."""
        return self.oauth.expire_refresh_tokens(email)

    def expire_sync_tokens(self) -> None:
        """Every sync token issued so far answers 410 fullSyncRequired."""
        self.listing.expire_sync_tokens()

    def set_quotas(
        self, *, per_user: int | None = None, per_project: int | None = None, project_status: int | None = None
    ) -> dict[str, int]:
        """Requests per minute per (account, client) and per client; 403 or 429 for the project limit."""
        self.quotas.configure(per_user=per_user, per_project=per_project, project_status=project_status)
        return self.quotas.as_dict()

    def set_max_channel_ttl(self, seconds: float) -> dict[str, float]:
        """No watch channel created from now on lives longer than ``seconds``."""
        self.watches.set_max_ttl(seconds)
        return {"max_ttl": self.watches.max_ttl}

    def channels(self) -> list[dict[str, Any]]:
        return self.watches.listing()

    # --- acting as a person ------------------------------------------------------------------------------
    def _calendar(self, email: str, calendar_id: str) -> Calendar:
        return self.event_ops.calendar(email.lower(), calendar_id)

    def events(self, email: str, calendar_id: str = "primary") -> list[dict[str, Any]]:
        """Every event on the calendar as its owner would read it, cancelled ones included (for assertions)."""
        with self.state.lock:
            cal = self._calendar(email, calendar_id)
            return [self.event_ops.render(cal, ev) for ev in cal.events.values()]

    def respond(
        self, email: str, event_id: str, status: str, *, calendar_id: str = "primary", comment: str | None = None
    ) -> dict[str, Any]:
        """The account answers an invitation (or an imported copy it attends): accepted/tentative/declined."""
        if status not in RESPONSES - {"needsAction"}:
            raise ValueError(f"status must be accepted, tentative or declined, not {status!r}")
        with self.state.lock:
            cal = self._calendar(email, calendar_id)
            ev = self.event_ops.get(cal, event_id)
            ids = cal.owner_ids()
            attendees = copy.deepcopy(ev.data.get("attendees", []))
            mine = [a for a in attendees if a["email"].lower() in ids]
            if not mine:
                raise bad_request(f"{email} is not an attendee of event {event_id}: there is nothing to answer.")
            for attendee in mine:
                attendee["responseStatus"] = status
                if comment is not None:
                    attendee["comment"] = comment
            new = self.event_ops.patch(cal, event_id, {"attendees": attendees}, None)
            return self.event_ops.render(cal, new)

    def set_transparency(
        self, email: str, event_id: str, transparency: str, *, calendar_id: str = "primary"
    ) -> dict[str, Any]:
        """Busy (``opaque``) or Free (``transparent``), as the calendar page's Show-as buttons."""
        if transparency not in ("opaque", "transparent"):
            raise ValueError("transparency must be opaque (Busy) or transparent (Free)")
        with self.state.lock:
            cal = self._calendar(email, calendar_id)
            new = self.event_ops.patch(cal, event_id, {"transparency": transparency}, None)
            return self.event_ops.render(cal, new)

    def delete_event(self, email: str, event_id: str, *, calendar_id: str = "primary") -> None:
        """Delete as the account would in Google Calendar (an invitation is removed and declined)."""
        with self.state.lock:
            self.event_ops.delete(self._calendar(email, calendar_id), event_id, None)

    def upcoming(self, email: str, now: float) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """The account's calendars with their not-cancelled events that have not ended, by start time."""
        with self.state.lock:
            out = []
            for cal in sorted(self.state.calendars_of(email), key=lambda c: (not c.primary, c.summary)):
                events = sorted(
                    (e for e in cal.events.values() if not e.cancelled and e.end_ts > now),
                    key=lambda e: (e.start_ts, e.id),
                )
                out.append(({"id": cal.id, "summary": cal.summary},
                            [self.event_ops.render(cal, e) for e in events]))
            return out

