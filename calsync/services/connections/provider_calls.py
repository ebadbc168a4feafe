"""Provider requests made on a person's behalf, and what a person may read when one fails.

Shared by the operations of this package (private to it): :func:`_call` runs one request with a usable token and
classifies auth failures, :func:`_plain` says a failure in plain words without the provider's body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from calsync.core.connection import RECONNECT_FIX
from calsync.errors import ProviderAuthError, ProviderError
from calsync.services.connections.context import CalendarContext
from calsync.store.connections import ConnectionRecord
from calsync.sync.tokens import ConnectionUnusable

T = TypeVar("T")


def _call(cc: CalendarContext, record: ConnectionRecord, fn: Callable[[str], T]) -> T:
    """Run one provider request for ``record`` with a valid access token, classifying auth failures.

    A 401 gets one forced refresh and one retry (the token may have been revoked or have expired early;
    provider-facts §1.6 ``authError``, §3.8 ``InvalidAuthenticationToken``). A 401 again, with the token just
    issued, a 403 for a missing scope, or an ``invalid_grant`` at refresh puts the connection in **error**
    (issue 4: reason in plain words, need_full_sync, off the queue) and raises :class:`ConnectionUnusable`, so
    the web layer answers 409 with the reason and the fix. Transient failures (429/5xx/timeouts) propagate
    untouched: the connection stays connected.
    """
    try:
        token, current = cc.tokens.access_token(record.id)
    except ConnectionUnusable:
        raise
    except ProviderAuthError as exc:  # refused at refresh: TokenManager has already put it in error
        raise _unusable(record, exc) from None
    try:
        return fn(token)
    except ConnectionUnusable:
        raise
    except ProviderAuthError as exc:
        if exc.status != 401:  # e.g. 403 missing scope: refreshing cannot help
            cc.tokens.mark_auth_error(record.id, exc)
            raise _unusable(record, exc) from None
    try:
        fresh, _ = cc.tokens.access_token(current.id, force_refresh=True)
    except ConnectionUnusable:
        raise
    except ProviderAuthError as exc:
        raise _unusable(record, exc) from None
    try:
        return fn(fresh)
    except ConnectionUnusable:
        raise
    except ProviderAuthError as exc:  # 401 with a token issued a moment ago: the grant is not usable
        cc.tokens.mark_auth_error(record.id, exc)
        raise _unusable(record, exc) from None


def _unusable(record: ConnectionRecord, exc: ProviderAuthError) -> ConnectionUnusable:
    return ConnectionUnusable(
        f"connection {record.id}: {exc.message}",
        provider=record.provider.value,
        reason=f"{exc.reason} {RECONNECT_FIX}",
        status=exc.status,
        code=exc.code,
    )


def _plain(exc: ProviderError) -> str:
    """What a person may read about a provider failure: the plain reason, never the provider's body."""
    if isinstance(exc, ProviderAuthError):
        return exc.reason
    return f"{exc.provider} answered {exc.code or exc.status or 'with an error'}"
