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

A Graph body is parsed before anything is looked up (:func:`parse_graph`): any JSON value is accepted, and each
item becomes a :class:`GraphItem` of plain strings or is ignored (an id or ``clientState`` of the wrong JSON
type, too long, or with characters no id of ours has). Each item is then applied in its own savepoint, so one
item that fails cannot roll back the others in its batch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import re
from typing import Any

from calsync import metrics
from calsync.core.connection import ConnectionStatus, Provider
from calsync.services.context import ServiceContext
from calsync.services.uow import unit_of_work
from calsync.store.connections import ConnectionRecord, ConnectionRepository

log = logging.getLogger(__name__)


MAX_ITEMS = 1000
"""Items read from one Graph POST; Graph batches far fewer, and the rest are left to polling."""

_ID = re.compile(r"[A-Za-z0-9._:@=+/-]{1,256}")
"""What a channel or subscription id of calsync's looks like (printable ASCII, bounded): anything else is not
ours and is ignored before it reaches a query."""

_SECRET = re.compile(r"[\x21-\x7e]{1,256}")


@dataclasses.dataclass(frozen=True)
class Outcome:
    accepted: int = 0
    ignored: int = 0
    failed: int = 0


@dataclasses.dataclass(frozen=True)
class GraphItem:
    """One Graph notification item, reduced to the strings calsync reads."""

    subscription_id: str
    client_state: str | None
    lifecycle_event: str | None


def _text(value: object, pattern: re.Pattern[str]) -> str | None:
    return value if isinstance(value, str) and pattern.fullmatch(value) else None


def parse_graph(payload: object) -> tuple[list[GraphItem], int]:
    """The usable items of a Graph notification body of any JSON shape, and how many were not usable.

    ``{"value": [...]}`` is the only shape Graph sends (provider-facts §3.6); anything else counts as one
    ignored item. An item needs a string ``subscriptionId`` shaped like ours; ``clientState`` and
    ``lifecycleEvent`` of another JSON type are treated as absent (which then fails the clientState check).
    """
    items = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        return [], 1
    parsed: list[GraphItem] = []
    ignored = 0
    for item in items[:MAX_ITEMS]:
        subscription_id = _text(item.get("subscriptionId"), _ID) if isinstance(item, dict) else None
        if subscription_id is None:
            ignored += 1
            continue
        assert isinstance(item, dict)
        lifecycle = item.get("lifecycleEvent")
        parsed.append(
            GraphItem(
                subscription_id=subscription_id,
                client_state=_text(item.get("clientState"), _SECRET),
                lifecycle_event=lifecycle if isinstance(lifecycle, str) else None,
            )
        )
    return parsed, ignored


def _secret_matches(record: ConnectionRecord | None, secret: str | None, provider: Provider) -> bool:
    if record is None or record.provider is not provider or record.status is not ConnectionStatus.CONNECTED:
        return False
    if not secret or not record.channel_secret_hash:
        return False
    return hmac.compare_digest(record.channel_secret_hash, hashlib.sha256(secret.encode()).hexdigest())


def google(ctx: ServiceContext, *, channel_id: str | None, token: str | None, state: str | None) -> Outcome:
    """One Google watch-channel notification (headers only)."""
    channel_id = _text(channel_id, _ID)
    if channel_id is None:
        metrics.NOTIFICATIONS.labels("google", "refused").inc()
        return Outcome(ignored=1)
    now = ctx.now()
    with unit_of_work(ctx.db) as uow:
        repo = ConnectionRepository(uow.session)
        record = repo.by_channel(channel_id)
        if not _secret_matches(record, _text(token, _SECRET), Provider.GOOGLE):
            log.info("ignored a Google notification for unknown or unauthenticated channel %s", channel_id[:80])
            metrics.NOTIFICATIONS.labels("google", "refused").inc()
            return Outcome(ignored=1)
        assert record is not None
        if state in ("exists", "not_exists"):
            repo.mark_due(record.id, now, pull=True)
    metrics.NOTIFICATIONS.labels("google", "accepted").inc()
    return Outcome(accepted=1)


def _apply(repo: ConnectionRepository, item: GraphItem, now: Any) -> bool:
    """Apply one authenticated item; False when it is unknown or forged (nothing changes)."""
    record = repo.by_channel(item.subscription_id)
    if not _secret_matches(record, item.client_state, Provider.MICROSOFT):
        return False
    assert record is not None
    if item.lifecycle_event == "reauthorizationRequired":
        repo.expire_channel(record.id, now)  # the next round renews it
    elif item.lifecycle_event == "subscriptionRemoved":
        repo.clear_channel(record.id)
    repo.mark_due(record.id, now, pull=True)
    return True


def microsoft(ctx: ServiceContext, payload: Any) -> Outcome:
    """A Graph notification POST of any JSON shape: ``{"value": [...]}`` of change or lifecycle items."""
    items, ignored = parse_graph(payload)
    if not items:
        metrics.NOTIFICATIONS.labels("microsoft", "refused").inc(max(ignored, 1))
        return Outcome(ignored=ignored)
    accepted = failed = 0
    now = ctx.now()
    with unit_of_work(ctx.db) as uow:
        repo = ConnectionRepository(uow.session)
        for item in items:
            try:
                with uow.session.begin_nested():  # a savepoint: this item's failure is this item's alone
                    if _apply(repo, item, now):
                        accepted += 1
                    else:
                        ignored += 1
            except Exception:
                failed += 1
                log.exception("a Graph notification item for subscription %s failed", item.subscription_id[:80])
    metrics.NOTIFICATIONS.labels("microsoft", "accepted").inc(accepted)
    metrics.NOTIFICATIONS.labels("microsoft", "refused").inc(ignored + failed)
    if ignored:
        log.info("ignored %d Graph notification item(s): unknown subscription or wrong clientState", ignored)
    return Outcome(accepted, ignored, failed)
