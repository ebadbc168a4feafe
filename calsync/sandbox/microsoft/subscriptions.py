"""Graph change notifications for Outlook events (provider-facts §3.6).

Create runs the ``validationToken`` handshake against ``notificationUrl`` and ``lifecycleNotificationUrl``
(200 + text/plain echo within 10 s, else 400 and no subscription). Notifications go out through the shared
:class:`~calsync.sandbox.delivery.Notifier` (so drop / duplicate / delay faults apply), one per change, shaped
``{"value": [{subscriptionId, subscriptionExpirationDateTime, changeType, resource, resourceData, clientState,
tenantId}]}``. Expired subscriptions stop notifying. Lifecycle events (``reauthorizationRequired``,
``subscriptionRemoved``, ``missed``) are sent on demand from the admin/Python API.

Resource paths: ``me/events`` and ``users/{id}/events`` are documented; per-calendar paths
(``me/calendars/{id}/events``) are UNCONFIRMED and accepted while ``settings.allow_calendar_subscription_paths``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from calsync.sandbox import ids
from calsync.sandbox.base import SandboxContext
from calsync.sandbox.microsoft.errors import GraphError
from calsync.sandbox.microsoft.state import TENANT_ID, Account, Change, MicrosoftState
from calsync.sandbox.microsoft.timezones import format_utc_stamp

CHANGE_TYPES = ("created", "updated", "deleted")
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
VALIDATION_FAILED = (
    "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request."
)


@dataclass
class Subscription:
    id: str
    account_id: str
    client_id: str
    resource: str
    calendar_id: str | None
    change_types: tuple[str, ...]
    notification_url: str
    lifecycle_url: str | None
    expires: dt.datetime
    client_state: str | None
    created: dt.datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.client_id,
            "changeType": ",".join(self.change_types),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": format_utc_stamp(self.expires),
            "creatorId": self.account_id,
            "includeResourceData": False,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }


def _parse_expiry(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise GraphError(400, "InvalidRequest", "expirationDateTime is required (ISO 8601 UTC, e.g. "
                                                "'2024-05-01T10:00:00Z').")
    text = value.strip().replace("Z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        text = f"{head}.{digits[:6].ljust(6, '0')}{tail[len(digits):]}"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise GraphError(400, "InvalidRequest", f"expirationDateTime '{value}' is not ISO 8601.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


class Subscriptions:
    def __init__(self, state: MicrosoftState, context: SandboxContext) -> None:
        self.state = state
        self.context = context
        self.items: dict[str, Subscription] = {}

    def reset(self) -> None:
        self.items.clear()

    # ----- validation ------------------------------------------------------------------------------------
    def _check_url(self, url: object, field: str) -> str:
        if not isinstance(url, str) or not url:
            raise GraphError(400, "InvalidRequest", f"{field} is required.")
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            return url
        if parts.scheme == "http" and self.context.allow_http_loopback_notifications and _loopback(parts.hostname):
            return url
        raise GraphError(400, "InvalidRequest",
                         f"{field} must be an https URL (plain http is allowed only to a loopback address while "
                         f"the sandbox allows it); got '{url}'.")

    def _max_expiry(self) -> dt.datetime:
        return self.context.clock.now_dt() + dt.timedelta(minutes=self.state.settings.max_subscription_minutes)

    def _check_expiry(self, value: object) -> dt.datetime:
        expires = _parse_expiry(value)
        now = self.context.clock.now_dt()
        if expires <= now:
            raise GraphError(400, "InvalidRequest", "Subscription expiration must be in the future.")
        if expires > self._max_expiry() + dt.timedelta(seconds=1):
            raise GraphError(
                400, "InvalidRequest",
                f"Subscription expiration can only be {self.state.settings.max_subscription_minutes} minutes in the "
                "future.",
            )
        return expires

    def _resource(self, raw: object, caller: Account) -> tuple[str, str | None]:
        if not isinstance(raw, str) or not raw.strip():
            raise GraphError(400, "InvalidRequest", "resource is required, e.g. 'me/events'.")
        segs = [s for s in raw.strip().strip("/").split("/") if s]
        low = [s.lower() for s in segs]
        if low[:1] == ["me"]:
            rest = segs[1:]
        elif low[:1] == ["users"] and len(segs) >= 2:
            target = self.state.resolve_user(segs[1])
            if target is None or target.id != caller.id:
                raise GraphError(403, "ExtensionError",
                                 "Operation: Create; Exception: [Status Code: Forbidden; Reason: Access is denied. "
                                 "Delegated tokens can subscribe only to the signed-in user's mailbox.]")
            rest = segs[2:]
        else:
            rest = []
        rl = [s.lower() for s in rest]
        if rl == ["events"]:
            return raw, None
        calendar_path = rl == ["calendar", "events"] or (len(rl) == 3 and rl[0] == "calendars" and rl[2] == "events")
        if calendar_path and self.state.settings.allow_calendar_subscription_paths:
            if rl[0] == "calendar":
                return raw, caller.default_calendar.id
            if rest[1] not in caller.calendars:
                raise GraphError(404, "ErrorItemNotFound", f"Calendar '{rest[1]}' was not found in the mailbox.")
            return raw, rest[1]
        raise GraphError(400, "InvalidRequest",
                         f"Resource '{raw}' is not supported for event subscriptions. Use 'me/events' or "
                         "'users/{id}/events'" + (" or 'me/calendars/{id}/events'."
                                                  if self.state.settings.allow_calendar_subscription_paths else "."))

    async def _handshake(self, url: str) -> None:
        token = ids.token_urlsafe(24) + " " + ids.token_hex(4)
        sep = "&" if urlsplit(url).query else "?"
        try:
            response = await asyncio.wait_for(
                self.context.notifier.request(
                    "POST", f"{url}{sep}validationToken={quote(token, safe='')}",
                    headers={"content-type": "text/plain; charset=utf-8"}, content=b"",
                ),
                timeout=self.state.settings.validation_timeout_seconds,
            )
        except (TimeoutError, httpx.HTTPError):
            raise GraphError(400, "InvalidRequest", VALIDATION_FAILED) from None
        ctype = response.headers.get("content-type", "")
        if response.status_code != 200 or response.text != token or not ctype.startswith("text/plain"):
            raise GraphError(400, "InvalidRequest", VALIDATION_FAILED)

    # ----- API -------------------------------------------------------------------------------------------
    async def create(self, caller: Account, client_id: str, body: Any) -> Subscription:
        if not isinstance(body, dict):
            raise GraphError(400, "InvalidRequest", "The request body must be a JSON subscription object.")
        raw_types = body.get("changeType")
        types = tuple(t.strip() for t in str(raw_types or "").split(",") if t.strip())
        if not types or any(t not in CHANGE_TYPES for t in types):
            raise GraphError(400, "InvalidRequest",
                             "changeType must be a comma-separated list of created, updated, deleted.")
        state_value = body.get("clientState")
        if state_value is not None and (not isinstance(state_value, str) or len(state_value) > 128):
            raise GraphError(400, "InvalidRequest", "clientState must be a string of at most 128 characters.")
        with self.state.lock:
            resource, calendar_id = self._resource(body.get("resource"), caller)
        url = self._check_url(body.get("notificationUrl"), "notificationUrl")
        lifecycle = body.get("lifecycleNotificationUrl")
        lifecycle = self._check_url(lifecycle, "lifecycleNotificationUrl") if lifecycle is not None else None
        expires = self._check_expiry(body.get("expirationDateTime"))
        await self._handshake(url)
        if lifecycle:
            await self._handshake(lifecycle)
        sub = Subscription(
            id=str(ids.uuid4()), account_id=caller.id, client_id=client_id, resource=resource,
            calendar_id=calendar_id, change_types=types, notification_url=url, lifecycle_url=lifecycle,
            expires=expires, client_state=state_value, created=self.context.clock.now_dt(),
        )
        with self.state.lock:
            self.items[sub.id] = sub
        return sub

    def get(self, caller: Account, client_id: str, sub_id: str) -> Subscription:
        sub = self.items.get(sub_id)
        if sub is None or sub.account_id != caller.id or sub.client_id != client_id or self._expired(sub):
            raise GraphError(404, "ResourceNotFound", f"The object was not found: subscription '{sub_id}'.")
        return sub

    def _expired(self, sub: Subscription) -> bool:
        return sub.expires <= self.context.clock.now_dt()

    def listing(self, caller: Account, client_id: str) -> list[Subscription]:
        return [s for s in self.items.values()
                if s.account_id == caller.id and s.client_id == client_id and not self._expired(s)]

    def renew(self, caller: Account, client_id: str, sub_id: str, body: Any) -> Subscription:
        sub = self.get(caller, client_id, sub_id)
        if not isinstance(body, dict):
            raise GraphError(400, "InvalidRequest", "Send {\"expirationDateTime\": \"...\"}.")
        if "lifecycleNotificationUrl" in body and body["lifecycleNotificationUrl"] != sub.lifecycle_url:
            raise GraphError(400, "InvalidRequest",
                             "lifecycleNotificationUrl cannot be added or changed: delete and recreate the "
                             "subscription.")
        sub.expires = self._check_expiry(body.get("expirationDateTime"))
        return sub

    def delete(self, caller: Account, client_id: str, sub_id: str) -> None:
        self.get(caller, client_id, sub_id)
        del self.items[sub_id]

    # ----- delivery --------------------------------------------------------------------------------------
    def notify(self, changes: list[Change]) -> None:
        """Queue one notification per (subscription, change); call without holding the state lock."""
        if not changes or not self.items:
            return
        with self.state.lock:
            now = self.context.clock.now_dt()
            outgoing: list[tuple[str, bytes]] = []
            for change in changes:
                account = self.state.accounts.get(change.account_id)
                event = account.events.get(change.event_id) if account else None
                for sub in list(self.items.values()):
                    if sub.account_id != change.account_id or sub.expires <= now:
                        continue
                    if change.change_type not in sub.change_types:
                        continue
                    if sub.calendar_id is not None and (event is None or event.calendar_id != sub.calendar_id):
                        continue
                    resource = f"Users/{change.account_id}/Events/{change.event_id}"
                    item = {
                        "subscriptionId": sub.id,
                        "subscriptionExpirationDateTime": format_utc_stamp(sub.expires),
                        "changeType": change.change_type,
                        "resource": resource,
                        "resourceData": {
                            "@odata.type": "#Microsoft.Graph.Event",
                            "@odata.id": resource,
                            "@odata.etag": change.etag,
                            "id": change.event_id,
                        },
                        "clientState": sub.client_state,
                        "tenantId": TENANT_ID,
                    }
                    outgoing.append((sub.notification_url, json.dumps({"value": [item]}).encode()))
        for url, content in outgoing:
            self.context.notifier.notify("microsoft", url, headers={"content-type": "application/json"},
                                         content=content)

    def lifecycle(self, sub_id: str, event: str) -> Subscription:
        """Send a lifecycle notification; ``subscriptionRemoved`` also deletes the subscription."""
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"lifecycle event must be one of {', '.join(LIFECYCLE_EVENTS)}")
        with self.state.lock:
            sub = self.items.get(sub_id)
            if sub is None:
                raise KeyError(f"no subscription {sub_id!r}")
            if sub.lifecycle_url is None:
                raise ValueError(f"subscription {sub_id} has no lifecycleNotificationUrl; Graph sends lifecycle "
                                 "notifications only there")
            if event == "subscriptionRemoved":
                del self.items[sub_id]
        item = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": format_utc_stamp(sub.expires),
            "tenantId": TENANT_ID,
            "clientState": sub.client_state,
            "lifecycleEvent": event,
        }
        self.context.notifier.notify("microsoft", sub.lifecycle_url, headers={"content-type": "application/json"},
                                     content=json.dumps({"value": [item]}).encode())
        return sub


def _loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
