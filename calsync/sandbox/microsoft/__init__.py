"""The Microsoft emulator: identity platform v2.0 + Microsoft Graph v1.0 calendar (provider-facts §3-5).

:class:`MicrosoftSandbox` is the provider the sandbox shell mounts, and the Python API tests use to set up
worlds and inject provider-side events (revocations, expiries, a person answering an invitation). See
docs/sandbox-microsoft.md for URLs, behaviours and every choice made where the spec is UNCONFIRMED.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from starlette.routing import BaseRoute, Mount, Route, request_response

from calsync.sandbox.base import SandboxContext
from calsync.sandbox.faults import FaultMiddleware
from calsync.sandbox.microsoft.admin import admin_routes
from calsync.sandbox.microsoft.errors import render_error, render_identity_error
from calsync.sandbox.microsoft.events import Mailboxes
from calsync.sandbox.microsoft.graph import Graph, GraphEndpoint, ThrottleLayer
from calsync.sandbox.microsoft.identity import TENANTS, Identity
from calsync.sandbox.microsoft.pages import CalendarPages
from calsync.sandbox.microsoft.render import event_json
from calsync.sandbox.microsoft.state import TENANT_ID, Change, Client, MicrosoftState
from calsync.sandbox.microsoft.subscriptions import Subscriptions
from calsync.sandbox.microsoft.throttle import Throttle
from calsync.sandbox.microsoft.views import DeltaTokens

__all__ = ["TENANT_ID", "MicrosoftSandbox"]


class MicrosoftSandbox:
    """Microsoft's half of the sandbox (see :class:`calsync.sandbox.base.ProviderSandbox`)."""

    name = "microsoft"

    def __init__(self, context: SandboxContext) -> None:
        self.context = context
        self.state = MicrosoftState()
        self.mailboxes = Mailboxes(self.state, context.clock.now_dt)
        self.subs = Subscriptions(self.state, context)
        self.deltas = DeltaTokens()
        self.throttle = Throttle(lambda: self.state.settings, context.clock.monotonic)
        self.identity = Identity(self.state, context)
        self.graph = Graph(self.state, context, self.mailboxes, self.subs, self.deltas, self.throttle)
        self.pages = CalendarPages(self.state, self.mailboxes, self.subs.notify)

    @property
    def settings(self) -> Any:
        """The live :class:`~calsync.sandbox.microsoft.state.Settings` (change fields directly in tests)."""
        return self.state.settings

    # ----- ProviderSandbox -------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        faults = self.context.faults
        token = FaultMiddleware(request_response(self.identity.token), faults=faults, provider="microsoft",
                                render_error=render_identity_error)
        graph = ThrottleLayer(
            FaultMiddleware(GraphEndpoint(self.graph), faults=faults, provider="microsoft", render_error=render_error),
            self.graph,
        )
        routes: list[BaseRoute] = [Mount("/graph/v1.0", app=graph)]
        for tenant in TENANTS:
            routes += [
                Route(f"/{tenant}/v2.0/.well-known/openid-configuration", self.identity.openid_configuration,
                      methods=["GET"]),
                Route(f"/{tenant}/oauth2/v2.0/authorize", self.identity.authorize, methods=["GET", "POST"]),
                Route(f"/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
                Route(f"/{tenant}/discovery/v2.0/keys", self.identity.keys, methods=["GET"]),
            ]
        return routes

    def admin_routes(self) -> list[BaseRoute]:
        return admin_routes(self)

    def page_routes(self) -> list[BaseRoute]:
        return self.pages.routes()

    def endpoints(self, base_url: str) -> dict[str, str]:
        base = base_url.rstrip("/")
        return {
            "authority": f"{base}/common",
            "graph": f"{base}/graph/v1.0",
            "tenant_id": TENANT_ID,
            "openid_configuration": f"{base}/common/v2.0/.well-known/openid-configuration",
            "admin": f"{base}/admin/microsoft",
            "calendar_pages": f"{base}/calendar/microsoft",
        }

    def account_emails(self) -> list[str]:
        with self.state.lock:
            return sorted(self.state.by_email)

    def reset(self) -> None:
        with self.state.lock:
            self.state.reset()
            self.subs.reset()
            self.deltas.reset()
        self.throttle.reset()

    # ----- Python API: identity --------------------------------------------------------------------------
    def register_client(self, client_id: str, client_secret: str | None = None,
                        redirect_uris: Iterable[str] = (), display_name: str = "calsync") -> None:
        """An app registration; with a secret it is a confidential client, without one a public client."""
        uris = list(redirect_uris)
        if not client_id or not uris or not all(isinstance(u, str) and "://" in u for u in uris):
            raise ValueError("register_client needs a client_id and at least one absolute redirect URI")
        with self.state.lock:
            self.state.clients[client_id] = Client(client_id, client_secret, uris, display_name)

    def create_account(self, email: str, name: str | None = None) -> dict[str, Any]:
        with self.state.lock:
            account = self.state.ensure_account(email, name)
            return {"id": account.id, "email": account.email, "name": account.name}

    def accounts(self) -> list[dict[str, Any]]:
        with self.state.lock:
            out = []
            for a in self.state.accounts.values():
                grants = [
                    {"client_id": g.client_id, "scopes": sorted(g.scopes), "revoked": g.revoked,
                     "consent_withdrawn": g.consent_withdrawn}
                    for g in self.state.grants.values() if g.account_id == a.id
                ]
                out.append({"id": a.id, "email": a.email, "name": a.name,
                            "calendars": [c.name for c in a.calendars.values()], "grants": grants})
            return out

    def revoke(self, email: str) -> int:
        """The user (or an admin) revoked the app's access: refresh -> 50173; access tokens stop working."""
        with self.state.lock:
            account = self.state.require_account(email)
            for g in self.state.grants.values():
                if g.account_id == account.id:
                    g.revoked = True
            return self._kill_tokens(account.id, lambda client_id: True)

    def password_changed(self, email: str) -> int:
        """Password change/reset: revokes public-client tokens always, confidential ones while
        ``settings.password_change_revokes_confidential`` (default True: the conservative reading, §4)."""
        with self.state.lock:
            account = self.state.require_account(email)
            revoke_conf = self.state.settings.password_change_revokes_confidential

            def affected(client_id: str) -> bool:
                client = self.state.clients.get(client_id)
                return client is None or not client.confidential or revoke_conf

            return self._kill_tokens(account.id, affected)

    def _kill_tokens(self, account_id: str, affected: Any) -> int:
        count = 0
        for rt in self.state.refresh_tokens.values():
            if rt.account_id == account_id and affected(rt.client_id) and not rt.revoked:
                rt.revoked = True
                count += 1
        for at in self.state.access_tokens.values():
            if at.account_id == account_id and affected(at.client_id):
                at.revoked = True
        return count

    def expire_refresh_tokens(self, email: str) -> int:
        """Refresh tokens expire as if unused for 90 days: refresh -> AADSTS700082."""
        with self.state.lock:
            account = self.state.require_account(email)
            count = 0
            for rt in self.state.refresh_tokens.values():
                if rt.account_id == account.id:
                    rt.expired_by_inactivity = True
                    count += 1
            return count

    def revoke_consent(self, email: str, client_id: str | None = None) -> int:
        """Consent withdrawn: refresh -> invalid_grant AADSTS65001 with ``suberror: consent_required``."""
        with self.state.lock:
            account = self.state.require_account(email)
            count = 0
            for g in self.state.grants.values():
                if g.account_id == account.id and (client_id is None or g.client_id == client_id):
                    g.consent_withdrawn = True
                    count += 1
            for at in self.state.access_tokens.values():
                if at.account_id == account.id and (client_id is None or at.client_id == client_id):
                    at.revoked = True
            return count

    # ----- Python API: Graph side ------------------------------------------------------------------------
    def expire_delta_tokens(self, email: str | None = None) -> int:
        """Every issued delta/skip token (of one mailbox, or all) now answers 410 ``syncStateNotFound``."""
        with self.state.lock:
            account_id = self.state.require_account(email).id if email else None
            return self.deltas.expire_all(account_id)

    def set_throttling(self, mailbox_concurrency: int | None = None, requests_per_window: int | None = None,
                       window_seconds: float | None = None) -> None:
        changes = {k: v for k, v in (("mailbox_concurrency", mailbox_concurrency),
                                     ("requests_per_window", requests_per_window),
                                     ("window_seconds", window_seconds)) if v is not None}
        self.update_settings(changes)

    def set_max_subscription_minutes(self, minutes: int) -> None:
        if minutes < 1:
            raise ValueError("minutes must be >= 1")
        self.update_settings({"max_subscription_minutes": minutes})

    def update_settings(self, changes: dict[str, Any]) -> None:
        with self.state.lock:
            self.state.settings.update(changes)

    def settings_dict(self) -> dict[str, Any]:
        with self.state.lock:
            return dataclasses.asdict(self.state.settings)

    def subscriptions(self) -> list[dict[str, Any]]:
        with self.state.lock:
            now = self.context.clock.now_dt()
            return [{**s.as_json(), "expired": s.expires <= now} for s in self.subs.items.values()]

    def send_lifecycle(self, subscription_id: str, event: str) -> None:
        """POST a lifecycle notification (reauthorizationRequired | subscriptionRemoved | missed)."""
        self.subs.lifecycle(subscription_id, event)

    def events(self, email: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        """A mailbox's events as Graph renders them (UTC), with ``singleValueExtendedProperties`` inlined."""
        with self.state.lock:
            account = self.state.require_account(email)
            out = []
            for ev in account.events.values():
                if ev.deleted and not include_deleted:
                    continue
                item = event_json(ev, account, None, None, list(ev.extended))
                item["calendarId"] = ev.calendar_id
                if include_deleted:
                    item["deleted"] = ev.deleted
                out.append(item)
            return out

    def create_event_as(self, email: str, payload: dict[str, Any], calendar_id: str | None = None) -> dict[str, Any]:
        """Create an event as the mailbox owner would in Outlook (invites other sandbox mailboxes)."""
        changes: list[Change] = []
        with self.state.lock:
            account = self.state.require_account(email)
            calendar = account.calendars[calendar_id] if calendar_id else account.default_calendar
            event, _ = self.mailboxes.create(account, calendar, payload, changes)
            out = event_json(event, account)
        self.subs.notify(changes)
        return out

    def respond_as(self, email: str, event_id: str, action: str, send_response: bool = True) -> None:
        """The mailbox owner answers an invitation (accept | tentativelyAccept | decline), as in Outlook."""
        key = action.lower()
        if key not in ("accept", "tentativelyaccept", "decline"):
            raise ValueError("action must be accept, tentativelyAccept or decline")
        changes: list[Change] = []
        with self.state.lock:
            account = self.state.require_account(email)
            event = self.mailboxes.find(account, event_id)
            self.mailboxes.respond(account, event, key, send_response, changes)
        self.subs.notify(changes)

    def set_show_as(self, email: str, event_id: str, show_as: str) -> None:
        """The mailbox owner changes Show as (free, tentative, busy, oof, workingElsewhere), as the page does."""
        changes: list[Change] = []
        with self.state.lock:
            account = self.state.require_account(email)
            event = self.mailboxes.find(account, event_id)
            self.mailboxes.update(account, event, {"showAs": show_as}, None, changes)
        self.subs.notify(changes)

    def delete_as(self, email: str, event_id: str) -> None:
        """The mailbox owner deletes the event in Outlook."""
        changes: list[Change] = []
        with self.state.lock:
            account = self.state.require_account(email)
            self.mailboxes.delete(account, self.mailboxes.find(account, event_id), None, changes)
        self.subs.notify(changes)
