"""Google push notifications: watch channels on the target calendar's events (provider-facts §1.5).

A channel lives at most its TTL (7 days by default) and is never renewed by Google, so "renew" opens a new
channel (new id) and stops the old one (peer lesson: renew well before expiry, never after). The channel
``token`` is a per-connection secret that every notification echoes in ``X-Goog-Channel-Token``; the webhook
compares it in constant time.
"""

from __future__ import annotations

import datetime as dt
import uuid

from calsync.errors import ProviderGone
from calsync.providers.base import PushChannel
from calsync.providers.google.rest import GoogleRest


class GoogleChannels:
    """:class:`calsync.providers.base.PushPort` for Google."""

    def __init__(self, rest: GoogleRest) -> None:
        self.rest = rest

    def open(self, token: str, calendar_id: str, address: str, secret: str, ttl_seconds: int) -> PushChannel:
        body = {
            "id": f"calsync-{uuid.uuid4().hex}",
            "type": "web_hook",
            "address": address,
            "token": secret,
            "params": {"ttl": str(ttl_seconds)},
        }
        path = f"calendars/{calendar_id.replace('/', '%2F')}/events/watch"
        item = self.rest.call_json("POST", path, token, json=body)
        expires = dt.datetime.fromtimestamp(int(item["expiration"]) / 1000, dt.UTC)
        return PushChannel(str(item["id"]), str(item.get("resourceId")), expires)

    def renew(
        self, token: str, channel: PushChannel, calendar_id: str, address: str, secret: str, ttl_seconds: int
    ) -> PushChannel:
        fresh = self.open(token, calendar_id, address, secret, ttl_seconds)
        self.close(token, channel)
        return fresh

    def close(self, token: str, channel: PushChannel) -> None:
        """channels.stop; an unknown or expired channel is already closed."""
        try:
            self.rest.call("POST", "channels/stop", token, json={"id": channel.id, "resourceId": channel.resource_id})
        except ProviderGone:
            return
