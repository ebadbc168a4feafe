"""Graph's error envelope -> calsync's exception tree (provider-facts §3.8, §3.5, §3.7)."""

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

SYNC_RESET_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
ACCESS_REASON = "Microsoft refused calsync access to your calendar; disconnect and reconnect."
TOKEN_REJECTED_REASON = "Microsoft rejected calsync's access even after renewing it; disconnect and reconnect."


def error_code(response: httpx.Response) -> tuple[str, str]:
    """(code, message) from a Graph error body; tolerant of bodies that are not the envelope."""
    try:
        err = response.json().get("error", {})
        return str(err.get("code") or ""), str(err.get("message") or "")
    except (ValueError, AttributeError, TypeError):
        return "", response.text[:200]


def map_error(response: httpx.Response) -> ProviderError:
    """One exception for a non-2xx Graph response."""
    status = response.status_code
    code, message = error_code(response)
    text = f"Microsoft Graph HTTP {status} {code}: {message}".strip()
    provider, code_ = "microsoft", code or None
    if status == 401:
        return ProviderAuthError(text, reason=TOKEN_REJECTED_REASON, provider=provider, status=status, code=code_)
    if status == 429 or status >= 500:
        return ProviderTransient(text, retry_after=retry_after(response), provider=provider, status=status, code=code_)
    if status == 410 or code.lower() in SYNC_RESET_CODES:
        return ProviderSyncReset(text, provider=provider, status=status, code=code_)
    if status == 403 and code in ("ErrorAccessDenied", "Authorization_RequestDenied"):
        return ProviderAuthError(text, reason=ACCESS_REASON, provider=provider, status=status, code=code_)
    if status == 404:
        return ProviderGone(text, provider=provider, status=status, code=code_)
    if status in (409, 412):
        return ProviderConflict(text, provider=provider, status=status, code=code_)
    return ProviderPermanent(text, provider=provider, status=status, code=code_)
