"""Push channels: a Google watch channel or a Graph subscription per connection, opened and renewed in its round.

Renewing inside the connection's round (which holds its lease) means exactly one process ever renews a given
channel. A channel is renewed once less than ``renew_margin`` of its life is left (peer lesson: renew before expiry,
never after; a lapsed channel leaves a window with no notifications). A channel that cannot be opened is a
warning, not a failure: polling is the backstop, because providers drop notifications anyway (§1.5, §3.6).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from typing import TYPE_CHECKING

from calsync.core.connection import Provider
from calsync.errors import ProviderAuthError, ProviderError
from calsync.providers.base import PushChannel
from calsync.providers.registry import Providers
from calsync.store.connections import ConnectionRecord, ConnectionRepository
from calsync.store.db import Database
from calsync.sync.calls import RoundCalls

if TYPE_CHECKING:
    from calsync.sync.report import EngineSettings, RoundReport

log = logging.getLogger(__name__)

PUSH_TTL = {Provider.GOOGLE: 7 * 24 * 3600, Provider.MICROSOFT: 4200 * 60}
"""Google channels default to 7 days (§1.5); Graph event subscriptions to under 4,230 minutes, the lower of the
two documented maxima (§3.6), so the renewal never asks for more than the provider allows."""


def keep_channel(
    db: Database,
    providers: Providers,
    conn: ConnectionRecord,
    calendar: str,
    calls: RoundCalls,
    now: dt.datetime,
    report: RoundReport,
    settings: EngineSettings,
) -> PushChannel | None:
    """Open or renew the connection's watch channel / subscription when missing or past 3/4 of its life."""
    if not settings.push_enabled:
        return None
    ttl = PUSH_TTL[conn.provider]
    current = (
        PushChannel(conn.channel_id, conn.channel_resource_id, conn.channel_expires_at)
        if conn.channel_id and conn.channel_expires_at
        else None
    )
    if current is not None and current.expires_at - now > dt.timedelta(seconds=ttl * settings.renew_margin):
        return current
    secret = secrets.token_urlsafe(32)
    address = f"{settings.webhook_base_url}/webhooks/{conn.provider.value}"
    push = providers.push(conn.provider)
    try:
        channel = (
            calls(push.renew, current, calendar, address, secret, ttl)
            if current
            else calls(push.open, calendar, address, secret, ttl)
        )
    except ProviderError as exc:  # polling is the backstop; say so and carry on
        if isinstance(exc, ProviderAuthError):
            raise
        log.warning("push channel for connection %s not opened: %s", conn.id, exc.message)
        report.warnings.append(f"push notifications unavailable: {exc.message}")
        return current
    with db.session() as session:
        ConnectionRepository(session).set_channel(
            conn.id,
            channel_id=channel.id,
            resource_id=channel.resource_id,
            secret_hash=hashlib.sha256(secret.encode()).hexdigest(),
            expires_at=channel.expires_at,
        )
    return channel
