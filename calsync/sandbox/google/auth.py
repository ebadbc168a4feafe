"""Google OAuth 2.0 semantics: clients, consent grants, codes with PKCE, access and refresh tokens (§2).

- Refresh tokens are issued only with ``access_type=offline``, and only at the first offline consent of an
  account to a client unless ``prompt=consent`` (provider-facts §2). A refresh grant returns a new access token and no
  refresh token (google-auth keeps the old one).
- Codes are one-time and live :data:`CODE_LIFETIME` seconds; PKCE (S256, or plain when the method is absent)
  is checked at the token endpoint.
- Revoking any token of a grant revokes the whole grant; revoked or expired refresh tokens, and a "password
  changed" event, answer ``invalid_grant`` / "Token has been expired or revoked." (§2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from calsync.sandbox import ids
from calsync.sandbox.google.state import AccessToken, AuthCode, GoogleState, Grant, OAuthClient, RefreshToken

ACCESS_TOKEN_LIFETIME = 3599
"""``expires_in`` of every access token, as Google answers (§2)."""
CODE_LIFETIME = 600.0
"""Seconds an authorization code stays redeemable (Google's value is unpublished; RFC 6749 §4.1.2 caps it at
10 minutes, which is what we use)."""

CAL = "https://www.googleapis.com/auth/calendar"
CAL_RO = CAL + ".readonly"
EVENTS = CAL + ".events"
EVENTS_RO = EVENTS + ".readonly"
EVENTS_WRITE = frozenset({CAL, EVENTS})
EVENTS_READ = frozenset({CAL, CAL_RO, EVENTS, EVENTS_RO})
CALENDARS_WRITE = frozenset({CAL})
CALENDARS_READ = frozenset({CAL, CAL_RO})
ANY_CALENDAR = EVENTS_READ


class OAuthError(Exception):
    """A token-endpoint failure: ``status`` and the ``error``/``error_description`` pair Google sends."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description


def invalid_grant(description: str = "Token has been expired or revoked.") -> OAuthError:
    return OAuthError(400, "invalid_grant", description)


@dataclass(frozen=True)
class Caller:
    """Who an access token speaks for."""

    account: str
    client_id: str
    scopes: frozenset[str]


class OAuth:
    """OAuth state transitions on a :class:`GoogleState` (all under its lock)."""

    def __init__(self, state: GoogleState) -> None:
        self.state = state
        self.refresh_token_lifetime: float | None = None
        """Seconds a refresh token lives (None: until revoked). Set to 7 days to mimic a "Testing" app (§2)."""

    # --- clients -----------------------------------------------------------------------------------------
    def register_client(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> OAuthClient:
        """Register (or replace) an OAuth client; redirect URIs are matched exactly, as Google does."""
        if not client_id or not client_secret:
            raise ValueError("client_id and client_secret are required")
        if not redirect_uris or not all(isinstance(u, str) and "://" in u for u in redirect_uris):
            raise ValueError("redirect_uris must be a non-empty list of absolute URIs")
        client = OAuthClient(client_id, client_secret, frozenset(redirect_uris))
        with self.state.lock:
            self.state.clients[client_id] = client
        return client

    def authenticate_client(self, client_id: str | None, secret: str | None) -> OAuthClient:
        """Client authentication at the token endpoint: 401 invalid_client on unknown id or wrong secret."""
        client = self.state.clients.get(client_id or "")
        if client is None:
            raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
        if secret is None or not hmac.compare_digest(client.client_secret, secret):
            raise OAuthError(401, "invalid_client", "Unauthorized")
        return client

    # --- consent and codes -------------------------------------------------------------------------------
    def consent(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        email: str,
        scopes: tuple[str, ...],
        offline: bool,
        force_consent: bool,
        challenge: str | None,
        method: str,
    ) -> str:
        """The account consents: record the grant and return a one-time code for the redirect."""
        with self.state.lock:
            account = self.state.ensure_account(email)
            key = (account.email, client_id)
            grant = self.state.grants.get(key)
            if grant is None:
                grant = Grant(account.email, client_id, set(scopes))
                self.state.grants[key] = grant
            else:
                grant.scopes.update(scopes)
            code = "4/0" + ids.token_urlsafe(32)
            self.state.codes[code] = AuthCode(
                code=code, client_id=client_id, redirect_uri=redirect_uri, account=account.email, scopes=scopes,
                challenge=challenge, method=method, expires_at=self.state.clock.now() + CODE_LIFETIME,
                issue_refresh=offline and (not grant.offline_granted or force_consent),
            )
            grant.offline_granted = grant.offline_granted or offline
            return code

    def exchange_code(
        self, client: OAuthClient, code: str, redirect_uri: str | None, verifier: str | None
    ) -> dict[str, Any]:
        """``grant_type=authorization_code``: one use, same client and redirect URI, PKCE verified."""
        with self.state.lock:
            record = self.state.codes.get(code)
            if record is None:
                raise invalid_grant("Malformed auth code.")
            if record.used or record.expires_at <= self.state.clock.now() or record.client_id != client.client_id:
                raise invalid_grant("Bad Request")
            record.used = True
            if redirect_uri != record.redirect_uri:
                raise OAuthError(400, "redirect_uri_mismatch", "Bad Request")
            if record.challenge is not None:
                if not verifier:
                    raise invalid_grant("Missing code verifier.")
                if not hmac.compare_digest(pkce_transform(verifier, record.method), record.challenge):
                    raise invalid_grant("Invalid code verifier.")
            grant = self.state.grants.get((record.account, record.client_id))
            if grant is None or grant.revoked:
                raise invalid_grant()
            return self._issue(grant, record.scopes, with_refresh=record.issue_refresh)

    def refresh(self, client: OAuthClient, token: str, scope: str | None) -> dict[str, Any]:
        """``grant_type=refresh_token``: a new access token, no new refresh token (§2)."""
        with self.state.lock:
            record = self.state.refresh_tokens.get(token)
            if record is None or record.grant.client_id != client.client_id:
                raise invalid_grant("Bad Request") if record is None else OAuthError(
                    401, "unauthorized_client", "Unauthorized"
                )
            expired = record.expired or (
                record.expires_at is not None and record.expires_at <= self.state.clock.now()
            )
            if record.grant.revoked or expired:
                raise invalid_grant()
            scopes = record.scopes
            if scope:
                wanted = tuple(scope.split())
                if not set(wanted) <= set(record.scopes):
                    raise OAuthError(400, "invalid_scope", "Some requested scopes were invalid.")
                scopes = wanted
            return self._issue(record.grant, scopes, with_refresh=False)

    def grant_tokens(self, email: str, client_id: str, scopes: list[str], *, offline: bool = True) -> dict[str, Any]:
        """Skip the browser: consent and exchange in one step (for tests and scripts)."""
        with self.state.lock:
            if client_id not in self.state.clients:
                raise ValueError(f"unknown OAuth client {client_id!r}: register it first")
            client = self.state.clients[client_id]
            redirect = sorted(client.redirect_uris)[0]
            code = self.consent(
                client_id=client_id, redirect_uri=redirect, email=email, scopes=tuple(scopes), offline=offline,
                force_consent=True, challenge=None, method="plain",
            )
            return self.exchange_code(client, code, redirect, None)

    def _issue(self, grant: Grant, scopes: tuple[str, ...], *, with_refresh: bool) -> dict[str, Any]:
        now = self.state.clock.now()
        access = "ya29." + ids.token_urlsafe(40)
        self.state.access_tokens[access] = AccessToken(access, grant, frozenset(scopes), now + ACCESS_TOKEN_LIFETIME)
        out: dict[str, Any] = {
            "access_token": access,
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "scope": " ".join(scopes),
            "token_type": "Bearer",
        }
        if with_refresh:
            refresh = "1//0" + ids.token_urlsafe(48)
            expires = now + self.refresh_token_lifetime if self.refresh_token_lifetime else None
            self.state.refresh_tokens[refresh] = RefreshToken(refresh, grant, scopes, expires)
            out["refresh_token"] = refresh
            if self.refresh_token_lifetime:
                out["refresh_token_expires_in"] = int(self.refresh_token_lifetime)
        return out

    # --- access tokens -----------------------------------------------------------------------------------
    def caller(self, authorization: str | None) -> Caller | None:
        """The caller behind ``Authorization: Bearer``, or None if missing, unknown, expired or revoked."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        record = self.state.access_tokens.get(authorization[7:].strip())
        if record is None or record.grant.revoked or record.expires_at <= self.state.clock.now():
            return None
        return Caller(record.grant.account, record.grant.client_id, record.scopes)

    # --- revocation --------------------------------------------------------------------------------------
    def revoke_token(self, token: str) -> bool:
        """The revoke endpoint: any token of a grant revokes the whole grant. False if the token is unknown."""
        with self.state.lock:
            record: AccessToken | RefreshToken | None = self.state.access_tokens.get(token)
            if record is None:
                record = self.state.refresh_tokens.get(token)
            if record is None or record.grant.revoked:
                return False
            self._revoke(record.grant)
            return True

    def revoke_account(self, email: str) -> int:
        """Revoke every grant of an account (the user removed the app's access); returns how many."""
        with self.state.lock:
            grants = [g for g in self.state.grants.values() if g.account == email.lower()]
            for grant in grants:
                self._revoke(grant)
            return len(grants)

    def expire_refresh_tokens(self, email: str) -> int:
        """Make the account's refresh tokens expired (as after 6 months unused, or 7 days in Testing, §2)."""
        with self.state.lock:
            tokens = [t for t in self.state.refresh_tokens.values() if t.grant.account == email.lower()]
            for token in tokens:
                token.expired = True
            return len(tokens)

    def _revoke(self, grant: Grant) -> None:
        # Refresh tokens stay known (so they answer invalid_grant, not "unknown"); access tokens stop at once.
        grant.revoked = True
        self.state.grants.pop((grant.account, grant.client_id), None)
        for key in [k for k, v in self.state.access_tokens.items() if v.grant is grant]:
            del self.state.access_tokens[key]

def pkce_transform(verifier: str, method: str) -> str:
    """RFC 7636: S256 is base64url(sha256(verifier)) without padding; plain is the verifier itself."""
    if method == "S256":
        return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier
