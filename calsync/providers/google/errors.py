"""Google's error envelope -> calsync's exception tree (provider-facts §1.6).

The reason is read from ``error.errors[0].reason`` as googleapiclient does (``_should_retry_response``): a 403
is a rate limit only for ``userRateLimitExceeded``/``rateLimitExceeded``/``quotaExceeded``, otherwise a refusal.
"""

from __future__ import annotations

import httpx

from calsync.errors import (
    ProviderAuthError,
    ProviderConflict,
    ProviderError,
    ProviderGone,
    ProviderPermanent,
    ProviderSyncReset,
    ProviderTransient,
)
from calsync.providers.rest import retry_after

RATE_LIMIT_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded"})
SCOPE_REASON = "calsync was not given permission to manage your Google calendars; disconnect and reconnect."
TOKEN_REJECTED_REASON = "Google rejected calsync's access even after renewing it; disconnect and reconnect."


def error_reason(response: httpx.Response) -> tuple[str, str]:
    """(reason, message) from a Google error body; tolerant of bodies that are not the envelope."""
    try:
        err = response.json().get("error", {})
        first = (err.get("errors") or [{}])[0]
        return str(first.get("reason") or ""), str(err.get("message") or first.get("message") or "")
    except (ValueError, AttributeError, TypeError):
        return "", response.text[:200]


def map_error(response: httpx.Response) -> ProviderError:
    """One exception for a non-2xx Google Calendar response."""
    status = response.status_code
    reason, message = error_reason(response)
    text = f"Google Calendar HTTP {status} {reason}: {message}".strip()
    provider, code_ = "google", reason or None
    if status == 401:
        return ProviderAuthError(text, reason=TOKEN_REJECTED_REASON, provider=provider, status=status, code=code_)
    if status == 429 or status >= 500 or (status == 403 and reason in RATE_LIMIT_REASONS):
        return ProviderTransient(text, retry_after=retry_after(response), provider=provider, status=status, code=code_)
    if status == 403 and reason in ("insufficientPermissions", "insufficientScopes", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"):
        return ProviderAuthError(text, reason=SCOPE_REASON, provider=provider, status=status, code=code_)
    if status == 410 and reason in ("fullSyncRequired", "updatedMinTooLongAgo"):
        return ProviderSyncReset(text, provider=provider, status=status, code=code_)
    if status in (404, 410):
        return ProviderGone(text, provider=provider, status=status, code=code_)
    if status in (409, 412):
        return ProviderConflict(text, provider=provider, status=status, code=code_)
    return ProviderPermanent(text, provider=provider, status=status, code=code_)
