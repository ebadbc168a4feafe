"""Push notifications: events.watch channels and channels.stop (provider-facts §1.5).

A channel watches one calendar's events. On creation it receives a ``sync`` message (message number 1); every
later change to that calendar's events sends ``exists`` with a larger message number. Each notification is an
empty POST with Google's ``X-Goog-*`` headers, sent through the shared Notifier (so notification faults apply).

Addresses must be HTTPS, as Google requires; plain http to a loopback address is allowed when the sandbox's
``allow_http_loopback_notifications`` is on, so a local calsync can receive them. Channels expire: the default
TTL is 604800 s (7 days, §1.5), a request may ask for less (``params.ttl`` or ``expiration``), and no channel
outlives :attr:`Watches.max_ttl` (Google's real maximum is UNCONFIRMED; we default to the 7 days and let tests
shorten it). Expired channels are dropped silently, as Google stops sending.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
from typing import Any
from urllib.parse import quote, urlsplit

from calsync.sandbox.base import SandboxContext
from calsync.sandbox.google.auth import Caller
from calsync.sandbox.google.errors import ApiError, bad_request, required
from calsync.sandbox.google.state import Calendar, Channel, GoogleState

DEFAULT_TTL = 604800
MAX_ID = 64
MAX_TOKEN = 256


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Watches:
    """Watch channels (callers of :meth:`create`/:meth:`stop` hold the state lock)."""

    def __init__(self, state: GoogleState, context: SandboxContext) -> None:
        self.state = state
        self.context = context
        self.max_ttl: float = DEFAULT_TTL
        self._by_calendar: dict[str, list[str]] = {}

    def reset(self) -> None:
        self.max_ttl = DEFAULT_TTL
        self._by_calendar = {}

    def set_max_ttl(self, seconds: float) -> None:
        """Cap every new channel's lifetime (the "shorten channel lifetimes" fault)."""
        if seconds <= 0:
            raise ValueError("the maximum channel TTL must be a positive number of seconds")
        self.max_ttl = float(seconds)

    def create(self, caller: Caller, cal: Calendar, body: Any, api_base: str) -> dict[str, Any]:
        """events.watch: validate, register, answer the Channel and send the ``sync`` message (§1.5)."""
        if not isinstance(body, dict):
            raise bad_request("The request body must be a Channel object.")
        channel_id = body.get("id")
        if not channel_id or not isinstance(channel_id, str):
            raise required("Missing channel id.")
        if len(channel_id) > MAX_ID:
            raise bad_request(f"Channel id is longer than {MAX_ID} characters.")
        kind = body.get("type")
        if kind not in ("web_hook", "webhook"):
            raise bad_request(f"Invalid channel type {kind!r}: use web_hook.", reason="push.channelTypeInvalid")
        address = body.get("address")
        if not address or not isinstance(address, str):
            raise required("Missing channel address.")
        self._check_address(address)
        token = body.get("token")
        if token is not None and (not isinstance(token, str) or len(token) > MAX_TOKEN):
            raise bad_request(f"Channel token must be a string of at most {MAX_TOKEN} characters.")
        now_ms = int(self.state.clock.now() * 1000)
        ttl = DEFAULT_TTL
        params = body.get("params") or {}
        if "ttl" in params:
            try:
                ttl = int(params["ttl"])
            except (TypeError, ValueError):
                raise bad_request("params.ttl must be a whole number of seconds.") from None
            if ttl <= 0:
                raise bad_request("params.ttl must be positive.")
        expiration = now_ms + int(min(ttl, self.max_ttl) * 1000)
        if body.get("expiration") is not None:
            try:
                asked = int(body["expiration"])
            except (TypeError, ValueError):
                raise bad_request("expiration must be milliseconds since the epoch.") from None
            if asked > now_ms:
                expiration = min(expiration, asked)
        existing = self.state.channels.get(channel_id)
        if existing is not None and existing.expiration_ms > now_ms:
            raise ApiError(400, "channelIdNotUnique", f"Channel id {channel_id} not unique")
        uri = f"{api_base}calendars/{quote(cal.id, safe='@')}/events?alt=json"
        channel = Channel(
            id=channel_id, resource_id=cal.resource_id, resource_uri=uri, calendar_id=cal.id, address=address,
            token=token, expiration_ms=expiration, account=caller.account, client_id=caller.client_id,
        )
        self._forget(channel_id)
        self.state.channels[channel_id] = channel
        self._by_calendar.setdefault(cal.id, []).append(channel_id)
        self._send(channel, "sync")
        out = {
            "kind": "api#channel", "id": channel.id, "resourceId": channel.resource_id,
            "resourceUri": channel.resource_uri, "expiration": str(channel.expiration_ms),
        }
        if token is not None:
            out["token"] = token
        return out

    def stop(self, caller: Caller, body: Any) -> None:
        """channels.stop: 404 for a channel this client does not have (or a mismatched resourceId)."""
        if not isinstance(body, dict) or not body.get("id"):
            raise required("Missing channel id.")
        channel = self.state.channels.get(str(body["id"]))
        resource = body.get("resourceId")
        if (
            channel is None
            or channel.client_id != caller.client_id
            or (resource is not None and resource != channel.resource_id)
        ):
            raise ApiError(404, "notFound", f"Channel '{body['id']}' not found for project '{caller.client_id}'")
        self._forget(channel.id)

    def changed(self, cal: Calendar) -> None:
        """Tell every live channel on ``cal`` that its events changed (``exists``)."""
        ids = self._by_calendar.get(cal.id)
        if not ids:
            return
        now_ms = int(self.state.clock.now() * 1000)
        for channel_id in list(ids):
            channel = self.state.channels.get(channel_id)
            if channel is None:
                continue
            if channel.expiration_ms <= now_ms:
                self._forget(channel_id)
                continue
            channel.message_number += 1
            self._send(channel, "exists")

    def listing(self) -> list[dict[str, Any]]:
        now_ms = int(self.state.clock.now() * 1000)
        with self.state.lock:
            return [
                {
                    "id": c.id, "resourceId": c.resource_id, "calendarId": c.calendar_id, "address": c.address,
                    "account": c.account, "clientId": c.client_id, "expiration": c.expiration_ms,
                    "expired": c.expiration_ms <= now_ms, "messageNumber": c.message_number,
                }
                for c in self.state.channels.values()
            ]

    def _forget(self, channel_id: str) -> None:
        channel = self.state.channels.pop(channel_id, None)
        if channel is not None:
            ids = self._by_calendar.get(channel.calendar_id, [])
            if channel_id in ids:
                ids.remove(channel_id)

    def _check_address(self, address: str) -> None:
        parts = urlsplit(address)
        if parts.scheme == "https" and parts.hostname:
            return
        if parts.scheme == "http" and self.context.allow_http_loopback_notifications and _is_loopback(parts.hostname):
            return
        raise bad_request(f"WebHook callback must be HTTPS: {address}", reason="push.webhookUrlNotHttps")

    def _send(self, channel: Channel, state: str) -> None:
        expires = dt.datetime.fromtimestamp(channel.expiration_ms / 1000, dt.UTC)
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": email.utils.format_datetime(expires, usegmt=True),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-URI": channel.resource_uri,
            "X-Goog-Resource-State": state,
            "X-Goog-Message-Number": str(channel.message_number),
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        self.context.notifier.notify("google", channel.address, headers=headers, content=b"")
