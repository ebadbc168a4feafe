"""Push notifications from the providers: authenticate them, then only mark the connection due (issue 5).

A notification never triggers a provider call inline (limits-and-practice §4: "authenticate, store durably,
return 2xx; never call the provider inline"): it marks the connection due with a pull requested, in one short
transaction, and a worker does the rest. Providers drop notifications, so polling remains the backstop.

- Google (provider-facts §1.5): the channel id must be one calsync opened and ``X-Goog-Channel-Token`` must
  match the per-channel secret (its SHA-256 is stored), compared in constant time. ``sync`` (channel created)
  changes nothing; ``exists``/``not_exists`` mark due.
- Graph (§3.6): each item's ``subscriptionId`` must be calsync's and its ``clientState`` must match. Lifecycle
  events: ``reauthorizationRequired`` makes the next round renew the subscription, ``subscriptionRemoved``
  forgets it so the next round opens a new one, ``missed`` asks for a pull.
Anything unknown or forged is ignored: no state changes, no provider call.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
from typing import Any

from calsync import metrics
from calsync.core.connection import ConnectionStatus, Provider
from calsync.services.context import ServiceContext
from calsync.services.uow import unit_of_work
from calsync.store.connections import ConnectionRecord, ConnectionRepository

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Outcome:
    accepted: int = 0
    ignored: int = 0


def _secret_matches(record: ConnectionRecord | None, secret: str | None, provider: Provider) -> bool:
    if record is None or record.provider is not provider or record.status is not ConnectionStatus.CONNECTED:
        return False
    if not secret or not record.channel_secret_hash:
        return False
    return hmac.compare_digest(record.channel_secret_hash, hashlib.sha256(secret.encode()).hexdigest())


def google(ctx: ServiceContext, *, channel_id: str | None, token: str | None, state: str | None) -> Outcome:
    """One Google watch-channel notification (headers only)."""
    if not channel_id:
        metrics.NOTIFICATIONS.labels("google", "refused").inc()
        return Outcome(ignored=1)
    now = ctx.now()
    with unit_of_work(ctx.db) as uow:
        repo = ConnectionRepository(uow.session)
        record = repo.by_channel(channel_id)
        if not _secret_matches(record, token, Provider.GOOGLE):
            log.info("ignored a Google notification for unknown or unauthenticated channel %s", channel_id[:80])
            metrics.NOTIFICATIONS.labels("google", "refused").inc()
            return Outcome(ignored=1)
        assert record is not None
        if state in ("exists", "not_exists"):
            repo.mark_due(record.id, now, pull=True)
    metrics.NOTIFICATIONS.labels("google", "accepted").inc()
    return Outcome(accepted=1)


def microsoft(ctx: ServiceContext, payload: Any) -> Outcome:
    """A Graph notification POST: ``{"value": [...]}`` of change or lifecycle items."""
    items = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        metrics.NOTIFICATIONS.labels("microsoft", "refused").inc()
        return Outcome(ignored=1)
    accepted = ignored = 0
    now = ctx.now()
    with unit_of_work(ctx.db) as uow:
        repo = ConnectionRepository(uow.session)
        for item in items[:1000]:
            if not isinstance(item, dict) or not isinstance(item.get("subscriptionId"), str):
                ignored += 1
                continue
            record = repo.by_channel(item["subscriptionId"])
            if not _secret_matches(record, item.get("clientState"), Provider.MICROSOFT):
                ignored += 1
                continue
            assert record is not None
            lifecycle = item.get("lifecycleEvent")
            if lifecycle == "reauthorizationRequired":
                repo.expire_channel(record.id, now)  # the next round renews it
            elif lifecycle == "subscriptionRemoved":
                repo.clear_channel(record.id)
            repo.mark_due(record.id, now, pull=True)
            accepted += 1
    metrics.NOTIFICATIONS.labels("microsoft", "accepted").inc(accepted)
    metrics.NOTIFICATIONS.labels("microsoft", "refused").inc(ignored)
    if ignored:
        log.info("ignored %d Graph notification item(s): unknown subscription or wrong clientState", ignored)
    return Outcome(accepted, ignored)
