"""Graph change notifications: one subscription per connection on ``me/events`` (provider-facts §3.6).

Graph validates the notification URL synchronously while the subscription is created (the webhook echoes
``validationToken``), so ``open`` must be called while calsync's web server is reachable. ``clientState`` is a
per-connection secret (<= 128 chars) compared in constant time by the webhook. A subscription is renewed in
place with PATCH before it lapses (lifetime configurable: the current maximum for events is UNCONFIRMED).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from calsync.errors import ProviderGone
from calsync.providers.base import PushChannel
from calsync.providers.microsoft.rest import GraphRest


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


class GraphSubscriptions:
    """:class:`calsync.providers.base.PushPort` for Microsoft."""

    def __init__(self, rest: GraphRest, clock: Callable[[], dt.datetime] = _utcnow) -> None:
        self.rest = rest
        self.clock = clock

    def open(self, token: str, calendar_id: str, address: str, secret: str, ttl_seconds: int) -> PushChannel:
        del calendar_id  # documented resources are me/events (all calendars); the webhook only marks due
        expires = self.clock() + dt.timedelta(seconds=ttl_seconds)
        body = {
            "changeType": "created,updated,deleted",
            "notificationUrl": address,
            "lifecycleNotificationUrl": address,
            "resource": "me/events",
            "expirationDateTime": _iso(expires),
            "clientState": secret,
        }
        item = self.rest.call_json("POST", "/subscriptions", token, json=body)
        return PushChannel(str(item["id"]), None, _expiry(item, expires))

    def renew(
        self, token: str, channel: PushChannel, calendar_id: str, address: str, secret: str, ttl_seconds: int
    ) -> PushChannel:
        expires = self.clock() + dt.timedelta(seconds=ttl_seconds)
        try:
            item = self.rest.call_json(
                "PATCH", f"/subscriptions/{channel.id}", token, json={"expirationDateTime": _iso(expires)}
            )
        except ProviderGone:  # removed or lapsed: make a new one
            return self.open(token, calendar_id, address, secret, ttl_seconds)
        return PushChannel(channel.id, None, _expiry(item, expires))

    def close(self, token: str, channel: PushChannel) -> None:
        try:
            self.rest.call("DELETE", f"/subscriptions/{channel.id}", token)
        except ProviderGone:
            return


def _expiry(item: dict[str, object], fallback: dt.datetime) -> dt.datetime:
    raw = item.get("expirationDateTime")
    if not isinstance(raw, str):
        return fallback
    try:
        parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
