"""Microsoft identity platform v2.0 (provider-facts §4): discovery, authorize with consent, token endpoint.

MSAL takes the tenant from the first path segment of the authority, so these routes live at the root:
``/{tenant}/v2.0/.well-known/openid-configuration``, ``/{tenant}/oauth2/v2.0/authorize`` and ``.../token``,
for tenant ``common``, ``organizations``, ``consumers`` or the sandbox tenant GUID (spelled out, so they never
swallow ``/google``, ``/graph``, ``/admin`` or ``/calendar``).

Behaviours (§4): PKCE S256 and plain checked at the token endpoint; one-time codes (reuse -> AADSTS54005,
expiry -> AADSTS70008); refresh tokens rotate on every use and the old one stays valid; ``client_info`` when
``client_info=1``; an unsigned id_token echoing ``nonce`` (MSAL decodes but does not validate it); invalid_grant
with AADSTS700082 (inactivity), 50173 (revoked / password changed) and 65001 + ``consent_required``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from calsync.sandbox import ids
from calsync.sandbox.base import SandboxContext
from calsync.sandbox.microsoft.errors import AadError
from calsync.sandbox.microsoft.markup import e, hidden, page
from calsync.sandbox.microsoft.state import (
    TENANT_ID,
    AccessToken,
    Account,
    AuthCode,
    Client,
    Grant,
    MicrosoftState,
    RefreshToken,
)

TENANTS = ("common", "organizations", "consumers", TENANT_ID)
OIDC_SCOPES = {"openid", "profile", "offline_access", "email"}
GRAPH_PREFIX = "https://graph.microsoft.com/"
GRAPH_AUDIENCE = "00000003-0000-0000-c000-000000000000"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unsigned_jwt(claims: dict[str, Any]) -> str:
    """A JWT with ``alg: none``; MSAL decodes id_token claims without checking a signature (§4)."""
    header = b64url(json.dumps({"typ": "JWT", "alg": "none"}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}."


def short_scope(scope: str) -> str:
    """``https://graph.microsoft.com/Calendars.ReadWrite`` -> ``calendars.readwrite`` (for permission checks)."""
    if scope.lower().startswith(GRAPH_PREFIX):
        scope = scope[len(GRAPH_PREFIX) :]
    return scope.lower()


def base_of(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


class Identity:
    """The identity platform's handlers over :class:`MicrosoftState`."""

    def __init__(self, state: MicrosoftState, context: SandboxContext) -> None:
        self.state = state
        self.context = context

    # ----- discovery -------------------------------------------------------------------------------------
    async def openid_configuration(self, request: Request) -> Response:
        tenant = request.url.path.split("/")[1]
        base = base_of(request)
        return JSONResponse(
            {
                "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
                "issuer": f"{base}/{TENANT_ID}/v2.0",
                "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "response_modes_supported": ["query", "fragment", "form_post"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "code_challenge_methods_supported": ["plain", "S256"],
                "tenant_region_scope": None,
                "cloud_instance_name": "microsoftonline.com",
            }
        )

    async def keys(self, request: Request) -> Response:
        """The sandbox signs nothing (id_tokens are unsigned), so the key set is empty."""
        return JSONResponse({"keys": []})

    # ----- authorize -------------------------------------------------------------------------------------
    async def authorize(self, request: Request) -> Response:
        params: dict[str, str] = dict(request.query_params)
        if request.method == "POST":
            form = await request.form()
            params = {k: str(v) for k, v in form.items()}
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        with self.state.lock:
            client = self.state.clients.get(client_id)
        if client is None:
            return self._error_page(
                700016,
                f"Application with identifier '{client_id}' was not found in the directory 'calsync sandbox'. "
                "This can happen if the application has not been installed by the administrator of the tenant. "
                "Register it first: POST /admin/microsoft/clients or MicrosoftSandbox.register_client().",
            )
        if redirect_uri not in client.redirect_uris:
            return self._error_page(
                50011,
                f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs "
                f"configured for the application '{client_id}'. Registered: {', '.join(client.redirect_uris)}.",
            )
        mode = params.get("response_mode", "query")
        state = params.get("state")
        if params.get("response_type") != "code":
            return self._redirect(redirect_uri, mode, self._err("unsupported_response_type", 70005,
                                  "The provided value for the input parameter 'response_type' is not allowed "
                                  "for this request. Expected 'code'.", state))
        method = params.get("code_challenge_method") or "plain"
        if params.get("code_challenge") and method not in ("S256", "plain"):
            return self._redirect(redirect_uri, mode, self._err("invalid_request", 50131,
                                  "code_challenge_method must be 'S256' or 'plain'.", state))
        scopes = params.get("scope", "").split()
        if not scopes:
            return self._redirect(redirect_uri, mode, self._err("invalid_request", 900144,
                                  "The request body must contain the following parameter: 'scope'.", state))
        decision = params.pop("decision", None)
        if decision == "cancel":
            return self._redirect(redirect_uri, mode, self._err("access_denied", 65004,
                                  "User declined to consent to access the app.", state))
        email = (params.pop("email", None) or "").strip()
        if decision == "accept" and "@" in email:
            return self._issue_code(client, email, params)
        hint = params.get("login_hint", "")
        if decision is None and self.context.auto_consent and "@" in hint:
            return self._issue_code(client, hint, params)
        return self._consent_page(client, params, email or hint, bad_email=decision == "accept")

    def _issue_code(self, client: Client, email: str, params: dict[str, str]) -> Response:
        scopes = params.get("scope", "").split()
        with self.state.lock:
            account = self.state.ensure_account(email)
            key = (account.id, client.client_id)
            grant = self.state.grants.get(key)
            resource = {short_scope(s) for s in scopes if short_scope(s) not in OIDC_SCOPES}
            if grant is None:
                grant = Grant(account.id, client.client_id, set())
                self.state.grants[key] = grant
            grant.scopes |= resource
            grant.revoked = False
            grant.consent_withdrawn = False
            code = AuthCode(
                code="1.A" + ids.token_urlsafe(48),
                client_id=client.client_id,
                account_id=account.id,
                redirect_uri=params.get("redirect_uri", ""),
                scopes=scopes,
                nonce=params.get("nonce"),
                challenge=params.get("code_challenge"),
                challenge_method=params.get("code_challenge_method") or "plain",
                expires=self.context.clock.now() + self.state.settings.code_seconds,
            )
            self.state.codes[code.code] = code
        out = {"code": code.code, "client_info": client_info(account)}
        if params.get("state") is not None:
            out["state"] = params["state"]
        out["session_state"] = str(ids.uuid4())
        return self._redirect(params.get("redirect_uri", ""), params.get("response_mode", "query"), out)

    @staticmethod
    def _err(error: str, code: int, text: str, state: str | None) -> dict[str, str]:
        out = {"error": error, "error_description": f"AADSTS{code}: {text}"}
        if state is not None:
            out["state"] = state
        return out

    @staticmethod
    def _redirect(uri: str, mode: str, values: dict[str, str]) -> Response:
        if mode == "form_post":
            body = (
                f'<form method=post action="{e(uri)}" id=f>{hidden(values)}'
                '<button type=submit>Continue</button></form>'
                "<script>document.getElementById('f').submit()</script>"
            )
            return HTMLResponse(page("Signing in", body))
        parts = urlsplit(uri)
        if mode == "fragment":
            target = urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, urlencode(values)))
        else:
            query = f"{parts.query}&{urlencode(values)}" if parts.query else urlencode(values)
            target = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
        return RedirectResponse(target, status_code=302)

    @staticmethod
    def _error_page(code: int, text: str) -> Response:
        body = (
            '<h1>Sign in</h1><div class=error role=alert data-testid="identity-error">'
            f"<p>Sorry, but we're having trouble signing you in.</p><p><strong>AADSTS{code}</strong>: {e(text)}</p>"
            "</div>"
        )
        return HTMLResponse(page("Sign in error", body), status_code=400)

    def _consent_page(self, client: Client, params: dict[str, str], email: str, *, bad_email: bool) -> Response:
        scopes = [s for s in params.get("scope", "").split() if short_scope(s) not in OIDC_SCOPES]
        items = "".join(f"<li>{e(s)}</li>" for s in scopes) or "<li>Sign you in</li>"
        warn = '<p class=error role=alert>Enter the account email address.</p>' if bad_email else ""
        body = (
            "<h1>Permissions requested</h1>"
            f'<p><strong data-testid="consent-app">{e(client.display_name)}</strong> wants to:</p>'
            f"<ul>{items}</ul>{warn}"
            f'<form method=post>{hidden(params)}'
            '<p><label for=email>Account email</label><br>'
            f'<input id=email name=email type=email required autocomplete=email value="{e(email)}" '
            'data-testid="consent-email"></p>'
            '<button type=submit name=decision value=accept class=primary data-testid="consent-accept">Accept'
            "</button>"
            '<button type=submit name=decision value=cancel formnovalidate data-testid="consent-cancel">Cancel'
            "</button></form>"
        )
        return HTMLResponse(page("Permissions requested", body))

    # ----- token -----------------------------------------------------------------------------------------
    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            client = self._authenticate(request, form)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                body = self._redeem_code(client, form, base_of(request))
            elif grant_type == "refresh_token":
                body = self._redeem_refresh(client, form, base_of(request))
            else:
                raise AadError(400, "unsupported_grant_type", 70003,
                               f"The app requested an unsupported grant type '{grant_type}'.")
        except AadError as exc:
            return JSONResponse(exc.body(), status_code=exc.status, headers={"cache-control": "no-store"})
        return JSONResponse(body, headers={"cache-control": "no-store", "pragma": "no-cache"})

    def _authenticate(self, request: Request, form: dict[str, str]) -> Client:
        client_id = form.get("client_id")
        secret = form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                user, password = "", ""
            client_id = client_id or user
            secret = secret or password
        with self.state.lock:
            client = self.state.clients.get(client_id or "")
        if client is None:
            raise AadError(400, "unauthorized_client", 700016,
                           f"Application with identifier '{client_id}' was not found in the directory.")
        if client.confidential:
            if not secret:
                raise AadError(401, "invalid_client", 7000218,
                               "The request body must contain the following parameter: 'client_assertion' or "
                               "'client_secret'.")
            if not secrets.compare_digest(secret, client.client_secret or ""):
                raise AadError(401, "invalid_client", 7000215,
                               "Invalid client secret provided. Ensure the secret being sent in the request is the "
                               f"client secret value, not the client secret ID, for a secret added to app "
                               f"'{client.client_id}'.")
        return client

    def _redeem_code(self, client: Client, form: dict[str, str], base: str) -> dict[str, Any]:
        now = self.context.clock.now()
        with self.state.lock:
            code = self.state.codes.get(form.get("code", ""))
            if code is None or code.client_id != client.client_id:
                raise AadError(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
            if code.redeemed:
                raise AadError(400, "invalid_grant", 54005,
                               "OAuth2 Authorization code was already redeemed, please retry with a new valid code "
                               "or use an existing refresh token.")
            if now > code.expires:
                raise AadError(400, "invalid_grant", 70008,
                               "The provided authorization code or refresh token has expired due to inactivity. "
                               "Send a new interactive authorization request for this user and resource.")
            if form.get("redirect_uri") != code.redirect_uri:
                raise AadError(400, "invalid_grant", 50011,
                               "The redirect URI in the token request does not match the one used to obtain the "
                               "authorization code.")
            if code.challenge is not None:
                verifier = form.get("code_verifier", "")
                if code.challenge_method == "S256":
                    expected = b64url(hashlib.sha256(verifier.encode()).digest())
                else:
                    expected = verifier
                if not verifier or not secrets.compare_digest(expected, code.challenge):
                    raise AadError(400, "invalid_grant", 501481,
                                   "The Code_Verifier does not match the code_challenge supplied in the "
                                   "authorization request.")
            code.redeemed = True
            account = self.state.accounts[code.account_id]
            return self._tokens(client, account, code.scopes, form, base, nonce=code.nonce)

    def _redeem_refresh(self, client: Client, form: dict[str, str], base: str) -> dict[str, Any]:
        now = self.context.clock.now()
        settings = self.state.settings
        with self.state.lock:
            record = self.state.refresh_tokens.get(form.get("refresh_token", ""))
            if record is None:
                raise AadError(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
            if record.client_id != client.client_id:
                raise AadError(400, "invalid_grant", 70000,
                               "Provided grant is invalid or malformed: the refresh token was issued to another "
                               "client.")
            grant = self.state.grants.get((record.account_id, client.client_id))
            if record.revoked or grant is None or grant.revoked:
                raise AadError(400, "invalid_grant", 50173,
                               "The provided grant has expired due to it being revoked, a fresh auth token is "
                               "needed. The user might have changed or reset their password. The grant was issued "
                               "on '{}' and the TokensValidFrom date (before which tokens are not valid) for this "
                               "user is later.".format(time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                     time.gmtime(record.issued))))
            inactive_days = (now - record.last_used) / 86400
            if record.expired_by_inactivity or inactive_days > settings.refresh_token_inactivity_days:
                raise AadError(400, "invalid_grant", 700082,
                               "The refresh token has expired due to inactivity. The token was issued on "
                               f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(record.issued))} and was inactive "
                               f"for {settings.refresh_token_inactivity_days}.00:00:00.")
            requested = form.get("scope", "").split() or record.scopes
            missing = {short_scope(s) for s in requested if short_scope(s) not in OIDC_SCOPES} - grant.scopes
            if grant.consent_withdrawn or missing:
                what = ", ".join(sorted(missing)) or ", ".join(sorted(grant.scopes))
                raise AadError(400, "invalid_grant", 65001,
                               f"The user or administrator has not consented to use the application with ID "
                               f"'{client.client_id}'. Send an interactive authorization request for this user and "
                               f"resource (scopes: {what}).", suberror="consent_required")
            record.last_used = now
            account = self.state.accounts[record.account_id]
            return self._tokens(client, account, requested, form, base, nonce=None)

    def _tokens(
        self, client: Client, account: Account, scopes: list[str], form: dict[str, str], base: str, nonce: str | None
    ) -> dict[str, Any]:
        now = self.context.clock.now()
        lifetime = self.state.settings.access_token_seconds
        short = {short_scope(s) for s in scopes}
        resource = [s for s in scopes if short_scope(s) not in OIDC_SCOPES]
        claims = {
            "aud": GRAPH_AUDIENCE, "iss": f"https://sts.windows.net/{TENANT_ID}/", "iat": int(now),
            "nbf": int(now), "exp": int(now + lifetime), "oid": account.id, "tid": TENANT_ID,
            "upn": account.email, "scp": " ".join(resource), "appid": client.client_id,
            "uti": ids.token_urlsafe(16),
        }
        access = unsigned_jwt(claims)[:-1] + b64url(ids.token_bytes(32))
        self.state.access_tokens[access] = AccessToken(
            access, account.id, client.client_id, short - OIDC_SCOPES, now + lifetime, now
        )
        out: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join([*resource, *[s for s in scopes if short_scope(s) in ("openid", "profile", "email")]]),
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access,
        }
        if "offline_access" in short:
            rt = "1.AR" + ids.token_urlsafe(64)
            self.state.refresh_tokens[rt] = RefreshToken(rt, account.id, client.client_id, list(scopes), now, now)
            out["refresh_token"] = rt
        if "openid" in short:
            id_claims: dict[str, Any] = {
                "aud": client.client_id, "iss": f"{base}/{TENANT_ID}/v2.0", "iat": int(now),
                "nbf": int(now), "exp": int(now + lifetime), "tid": TENANT_ID, "oid": account.id,
                "sub": b64url(hashlib.sha256(f"{account.id}:{client.client_id}".encode()).digest()),
                "preferred_username": account.email, "name": account.name, "ver": "2.0",
            }
            if "email" in short:
                id_claims["email"] = account.email
            if nonce:
                id_claims["nonce"] = nonce
            out["id_token"] = unsigned_jwt(id_claims)
        if form.get("client_info") == "1":
            out["client_info"] = client_info(account)
        return out


def client_info(account: Account) -> str:
    """base64url JSON ``{uid, utid}``: MSAL builds ``home_account_id`` = ``uid.utid`` from it (§4)."""
    return b64url(json.dumps({"uid": account.id, "utid": TENANT_ID}).encode())
