"""Usable access tokens for a connection: opened from storage, refreshed ahead of expiry, failures classified.

Refreshing ``REFRESH_MARGIN`` before expiry keeps a request from starting with a token that dies in flight
(Odoo refreshes a minute early; google-auth treats tokens as expired 3 min 45 s early, provider-facts §2). A
refresh that the provider refuses for good (``invalid_grant``: revoked, expired, password changed, consent
withdrawn) puts the connection in **error** with the reason in plain words, sets ``need_full_sync`` and takes it
off the work queue: no hot retry loop until the person reconnects (issue 4). A transient failure propagates as
:class:`~calsync.errors.ProviderTransient` for the worker's backoff and changes nothing stored.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from calsync.core.connection import RECONNECT_FIX, ConnectionStatus
from calsync.core.validation import shorten
from calsync.crypto import TokenCipher
from calsync.errors import ProviderAuthError, ProviderTransient
from calsync.providers.base import TokenSet
from calsync.providers.registry import Providers
from calsync.store.connections import ConnectionRecord, ConnectionRepository, SealedTokens
from calsync.store.db import Database

REFRESH_MARGIN = dt.timedelta(minutes=5)
OPERATOR_CODES = frozenset({"invalid_client", "unauthorized_client"})
log = logging.getLogger(__name__)


class ConnectionUnusable(ProviderAuthError):
    """The connection is in error or disconnected: nothing may be sent for it until the person reconnects."""


class TokenManager:
    def __init__(
        self, db: Database, cipher: TokenCipher, providers: Providers, clock: Callable[[], dt.datetime]
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.providers = providers
        self.clock = clock

    def tokens(self, record: ConnectionRecord) -> TokenSet:
        """Open the stored tokens of ``record`` (only in memory, never logged: TokenSet's repr hides them)."""
        if record.status is not ConnectionStatus.CONNECTED or record.access_token_enc is None:
            raise ConnectionUnusable(
                f"connection {record.id} is {record.status.value}",
                provider=record.provider.value,
                reason=record.error_reason or "This calendar is not connected.",
            )
        return TokenSet(
            access_token=self.cipher.decrypt(record.access_token_enc),
            refresh_token=self.cipher.decrypt(record.refresh_token_enc) if record.refresh_token_enc else None,
            expires_at=record.token_expires_at or self.clock(),
            scopes=tuple(record.scopes.split()),
        )

    def access_token(self, connection_id: int, *, force_refresh: bool = False) -> tuple[str, ConnectionRecord]:
        """A valid access token and the connection it belongs to."""
        with self.db.session(write=False) as session:
            record = ConnectionRepository(session).get(connection_id)
        if record is None:
            raise LookupError(f"no connection {connection_id}")
        tokens = self.tokens(record)
        if not force_refresh and not tokens.expires_within(self.clock(), REFRESH_MARGIN.total_seconds()):
            return tokens.access_token, record
        try:
            fresh = self.providers.oauth(record.provider).refresh(tokens)
        except ProviderAuthError as exc:
            if exc.code in OPERATOR_CODES:
                # calsync's own client registration was refused: the person's grant is fine, so their connection
                # is not put in error; the operator is told (logged) and the work is retried later.
                log.error(
                    "the %s token endpoint refused calsync's client (%s): check the client id and secret",
                    record.provider.value,
                    exc.code,
                )
                raise ProviderTransient(
                    f"{record.provider.label} refused calsync's app registration; an operator must fix it",
                    provider=record.provider.value,
                    code=exc.code,
                    retry_after=300.0,
                ) from None
            self.mark_auth_error(connection_id, exc)
            raise
        with self.db.session() as session:
            repo = ConnectionRepository(session)
            current = repo.get(connection_id, for_update=True)
            if current is None or current.status is not ConnectionStatus.CONNECTED:
                raise ConnectionUnusable(
                    f"connection {connection_id} changed while refreshing",
                    provider=record.provider.value,
                    reason="This calendar was disconnected.",
                )
            record = repo.store_tokens(
                connection_id,
                SealedTokens(
                    access_token_enc=self.cipher.encrypt(fresh.access_token),
                    refresh_token_enc=self.cipher.encrypt(fresh.refresh_token) if fresh.refresh_token else None,
                    expires_at=fresh.expires_at,
                ),
            )
        return fresh.access_token, record

    def mark_auth_error(self, connection_id: int, exc: ProviderAuthError) -> None:
        """Connection -> error with the reason and the fix; need_full_sync; off the queue (issue 4)."""
        now = self.clock()
        with self.db.session() as session:
            repo = ConnectionRepository(session)
            current = repo.get(connection_id, for_update=True)
            if current is None or current.status is ConnectionStatus.DISCONNECTED:
                return
            repo.mark_auth_error(
                connection_id,
                now,
                reason=f"{exc.reason} {RECONNECT_FIX}",
                detail=exc.message,
                code=exc.code or (str(exc.status) if exc.status else None),
            )
            repo.log(connection_id, now, "auth-error", f"{exc.reason} ({shorten(exc.message, 300)})", level="error")
