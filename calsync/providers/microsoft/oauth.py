"""Microsoft identity platform v2.0 for calsync through MSAL (provider-facts §4).

MSAL's ``ConfidentialClientApplication`` runs the auth-code flow with PKCE (``initiate_auth_code_flow`` keeps
the verifier, nonce and state in a flow dict, which we store encrypted until the callback) and refreshes with
``acquire_token_by_refresh_token``. Microsoft rotates refresh tokens on every use, so the new one is stored.

Two MSAL behaviours shape this module: its token cache would hold every person's tokens in process memory, so
each call gets a throwaway ``TokenCache`` (calsync stores tokens itself, encrypted); and its authority discovery
is an HTTP GET on construction, so one ``http_cache`` dict is shared by every application object (MSAL caches
discovery for 24 h in it). For a non-Microsoft authority (the sandbox) ``instance_discovery=False``.
Microsoft offers apps no per-grant revocation endpoint: :meth:`MicrosoftOAuth.revoke` returns False.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import warnings
from collections.abc import Callable
from typing import Any

import msal
import msal.exceptions
import requests

from calsync.core.connection import Provider
from calsync.errors import ProviderAuthError, ProviderPermanent, ProviderTransient
from calsync.providers.base import AuthorizationStart, Grant, TokenSet
from calsync.providers.config import ClientCredentials, MicrosoftEndpoints
from calsync.providers.http import Tls

# MSAL warns on every authorization URL that response_mode='form_post' is "recommended". calsync's callback is a
# GET on purpose: a cross-site form POST would not carry the SameSite=Lax cookie that binds the flow to the
# browser that started it (docs/connections.md), and the code is PKCE-bound and single-use. The warning is noise to
# whoever runs calsync, so that one warning (matched by its text) is filtered.
warnings.filterwarnings("ignore", message=r"response_mode='form_post' is recommended", category=UserWarning)

SCOPES = ("Calendars.ReadWrite",)
"""Delegated permission to read and write the person's calendars; MSAL adds openid, profile, offline_access."""

_AADSTS_REASONS: dict[int, str] = {
    700082: "Your Microsoft authorization for calsync expired after 90 days without use.",
    70008: "Your Microsoft authorization for calsync expired.",
    50173: "Microsoft revoked calsync's access: your password changed or the access was revoked.",
    65001: "Consent for calsync was withdrawn in your Microsoft account.",
    50076: "Microsoft needs you to sign in again (multi-factor authentication).",
    50078: "Microsoft needs you to sign in again (multi-factor authentication).",
}
GENERIC_REASON = "Microsoft no longer accepts calsync's access (revoked, expired, or your password changed)."


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def classify_token_error(result: dict[str, Any]) -> Exception:
    """Map an MSAL error result (the token endpoint's JSON) onto the exception tree."""
    error = str(result.get("error", "unknown_error"))
    codes = [int(c) for c in result.get("error_codes", []) if isinstance(c, int | str) and str(c).isdigit()]
    description = str(result.get("error_description", "")).split("\r\n")[0].split(" Trace ID")[0]
    text = f"Microsoft token endpoint: {error}" + (f" ({description})" if description else "")
    if error in ("invalid_grant", "interaction_required", "consent_required"):
        reason = next((_AADSTS_REASONS[c] for c in codes if c in _AADSTS_REASONS), None)
        if reason is None and result.get("suberror") == "consent_required":
            reason = _AADSTS_REASONS[65001]
        return ProviderAuthError(
            text, provider="microsoft", reason=reason or GENERIC_REASON, code=f"{error}:{codes[0] if codes else ''}"
        )
    if error in ("invalid_client", "unauthorized_client"):
        return ProviderAuthError(
            text,
            provider="microsoft",
            reason="calsync's Microsoft app registration was refused; an operator must check its credentials.",
            code=error,
        )
    if error in ("temporarily_unavailable", "server_error"):
        return ProviderTransient(text, provider="microsoft", code=error)
    return ProviderPermanent(text, provider="microsoft", code=error)


def _transient(exc: Exception) -> ProviderTransient:
    """The token endpoint did not answer usefully: unreachable, or a 5xx (MSAL raises MsalServiceError for those)."""
    status = getattr(exc, "status_code", None)
    detail = f"HTTP {status}" if status else type(exc).__name__
    return ProviderTransient(f"Microsoft token endpoint unavailable ({detail})", provider="microsoft", status=status)


class MicrosoftOAuth:
    """The :class:`calsync.providers.base.OAuthPort` for Microsoft."""

    provider = Provider.MICROSOFT

    def __init__(
        self,
        endpoints: MicrosoftEndpoints,
        client: ClientCredentials,
        tls: Tls,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.endpoints = endpoints
        self.client = client
        self.tls = tls
        self.clock = clock
        """Expiries are stamped on the runtime's clock (the one the token manager compares them with)."""
        self._http_cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _app(self) -> msal.ConfidentialClientApplication:
        try:
            with self._lock:  # the shared http_cache is a plain dict
                return msal.ConfidentialClientApplication(
                    self.client.client_id,
                    client_credential=self.client.client_secret,
                    authority=self.endpoints.authority,
                    http_client=self.tls.requests_session(),
                    instance_discovery=None if self.endpoints.is_microsoft_host else False,
                    token_cache=msal.TokenCache(),
                    http_cache=self._http_cache,
                )
        except (requests.RequestException, ValueError) as exc:
            raise ProviderTransient(
                f"Microsoft identity platform unreachable or misconfigured: {type(exc).__name__}: {exc}",
                provider="microsoft",
            ) from None

    def start(self, *, state: str, redirect_uri: str, login_hint: str | None = None) -> AuthorizationStart:
        flow = self._app().initiate_auth_code_flow(
            list(SCOPES), redirect_uri=redirect_uri, state=state, login_hint=login_hint
        )
        return AuthorizationStart(url=str(flow["auth_uri"]), flow_secret=json.dumps(flow))

    def finish(self, *, code: str, state: str, flow_secret: str, redirect_uri: str) -> Grant:
        flow = json.loads(flow_secret)
        if flow.get("redirect_uri") != redirect_uri:
            raise ProviderPermanent("the callback arrived at a different redirect URI", provider="microsoft")
        try:
            result = self._app().acquire_token_by_auth_code_flow(flow, {"code": code, "state": state})
        except ValueError as exc:  # MSAL: state mismatch or malformed response
            raise ProviderPermanent(f"Microsoft authorization response refused: {exc}", provider="microsoft") from None
        except (requests.RequestException, msal.exceptions.MsalServiceError) as exc:
            raise _transient(exc) from None
        if "error" in result:
            raise classify_token_error(result)
        tokens = self._tokens(result, previous_refresh=None)
        if not tokens.refresh_token:
            raise ProviderPermanent("Microsoft granted no refresh token (offline_access missing)", provider="microsoft")
        claims = result.get("id_token_claims") or {}
        email = claims.get("preferred_username") or claims.get("email")
        account_id = claims.get("oid") or claims.get("sub")
        if not isinstance(email, str) or not isinstance(account_id, str):
            raise ProviderPermanent("Microsoft's id_token named no account", provider="microsoft")
        return Grant(tokens=tokens, account_email=email.lower(), account_id=account_id, scopes=tokens.scopes)

    def _tokens(self, result: dict[str, Any], previous_refresh: str | None) -> TokenSet:
        access = result.get("access_token")
        if not isinstance(access, str) or not access:
            raise ProviderPermanent("Microsoft's token response had no access_token", provider="microsoft")
        expires_in = float(result.get("expires_in", 3599))
        scope = result.get("scope", "")
        scopes = tuple(scope.split() if isinstance(scope, str) else scope)
        refresh = result.get("refresh_token") or previous_refresh
        return TokenSet(access, refresh, self.clock() + dt.timedelta(seconds=expires_in), scopes)

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """Refresh and keep the rotated refresh token Microsoft returns (§4: they replace themselves on use)."""
        if not tokens.refresh_token:
            raise ProviderAuthError(
                "no refresh token stored", provider="microsoft", reason=GENERIC_REASON, code="no_refresh_token"
            )
        try:
            result = self._app().acquire_token_by_refresh_token(tokens.refresh_token, list(SCOPES))
        except (requests.RequestException, msal.exceptions.MsalServiceError) as exc:
            raise _transient(exc) from None
        if "error" in result:
            raise classify_token_error(result)
        return self._tokens(result, previous_refresh=tokens.refresh_token)

    def revoke(self, tokens: TokenSet) -> bool:
        """Microsoft has no per-grant revocation endpoint for apps; disconnect deletes the tokens instead."""
        return False
