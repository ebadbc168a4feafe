"""Google OAuth 2.0 endpoints: authorize (consent page), token and revoke (provider-facts §2).

- Authorize refuses, on an error page and **without redirecting** (Google is never an open redirector), an
  unknown client (``invalid_client``) and a redirect URI that is not registered exactly
  (``redirect_uri_mismatch``). Other bad requests (missing scope, unknown PKCE method) are error pages too.
- The consent page asks for the account email (``login_hint`` prefills it); Allow redirects with ``code`` and
  ``state``, Cancel with ``error=access_denied``. Accounts are created on first consent. With the sandbox's
  ``auto_consent``, a request with ``login_hint`` redirects at once.
- Token: form-encoded; client secret in the form or HTTP Basic; ``authorization_code`` and ``refresh_token``.
- Revoke: ``token=`` (access or refresh) in the form or query; revokes the whole grant; 200, or 400 if unknown.
"""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from calsync.sandbox.base import SandboxContext
from calsync.sandbox.google.auth import OAuth, OAuthError
from calsync.sandbox.google.errors import JSON_TYPE, oauth_error
from calsync.sandbox.google.markup import error_page, esc, page
from calsync.sandbox.google.state import OAuthClient

AUTH_PARAMS = (
    "client_id", "redirect_uri", "response_type", "scope", "state", "access_type", "prompt", "login_hint",
    "code_challenge", "code_challenge_method", "include_granted_scopes",
)


class AuthorizeRequest:
    """A validated authorization request (from the query string, or echoed back by the consent form)."""

    def __init__(self, params: dict[str, str], client: OAuthClient) -> None:
        self.params = params
        self.client = client
        self.redirect_uri = params["redirect_uri"]
        self.scopes = tuple(params["scope"].split())
        self.state = params.get("state")
        self.offline = params.get("access_type") == "offline"
        self.force_consent = "consent" in params.get("prompt", "").split()
        self.challenge = params.get("code_challenge") or None
        self.method = params.get("code_challenge_method") or "plain"

    def redirect(self, **extra: str) -> RedirectResponse:
        query = dict(extra)
        if self.state is not None:
            query["state"] = self.state
        sep = "&" if "?" in self.redirect_uri else "?"
        return RedirectResponse(self.redirect_uri + sep + urlencode(query), status_code=302)


class OAuthEndpoints:
    def __init__(self, oauth: OAuth, context: SandboxContext) -> None:
        self.oauth = oauth
        self.context = context

    def _validate(self, params: dict[str, str]) -> AuthorizeRequest | HTMLResponse:
        client = self.oauth.state.clients.get(params.get("client_id", ""))
        if client is None:
            return HTMLResponse(error_page(401, "invalid_client", "The OAuth client was not found."), 401)
        if params.get("redirect_uri") not in client.redirect_uris:
            return HTMLResponse(error_page(
                400, "redirect_uri_mismatch",
                "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy: the "
                f"redirect URI {params.get('redirect_uri')!r} is not registered for this client.",
            ), 400)
        problems = []
        if params.get("response_type") != "code":
            problems.append("response_type must be code")
        if not params.get("scope"):
            problems.append("Missing required parameter: scope")
        if params.get("code_challenge_method") not in (None, "", "S256", "plain"):
            problems.append("code_challenge_method must be S256 or plain")
        if params.get("code_challenge_method") and not params.get("code_challenge"):
            problems.append("code_challenge_method given without code_challenge")
        if params.get("access_type") not in (None, "", "online", "offline"):
            problems.append("access_type must be online or offline")
        if problems:
            return HTMLResponse(error_page(400, "invalid_request", "; ".join(problems)), 400)
        return AuthorizeRequest(params, client)

    async def authorize(self, request: Request) -> Response:
        """GET: the consent page (or, with auto-consent and login_hint, the redirect with a code)."""
        params = {k: v for k, v in request.query_params.items() if k in AUTH_PARAMS}
        checked = self._validate(params)
        if isinstance(checked, HTMLResponse):
            return checked
        hint = params.get("login_hint", "")
        if self.context.auto_consent and "@" in hint:
            return self._grant(checked, hint)
        return HTMLResponse(self._consent_page(checked, hint))

    async def consent(self, request: Request) -> Response:
        """POST from the consent page: Allow or Cancel."""
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode(), keep_blank_values=True).items()}
        checked = self._validate({k: v for k, v in form.items() if k in AUTH_PARAMS})
        if isinstance(checked, HTMLResponse):
            return checked
        if form.get("decision") != "allow":
            return checked.redirect(error="access_denied")
        email = form.get("email", "").strip()
        if "@" not in email or email.startswith("@") or email.endswith("@"):
            return HTMLResponse(self._consent_page(checked, email, "Enter the account's email address."), 400)
        return self._grant(checked, email)

    def _grant(self, req: AuthorizeRequest, email: str) -> Response:
        code = self.oauth.consent(
            client_id=req.client.client_id, redirect_uri=req.redirect_uri, email=email, scopes=req.scopes,
            offline=req.offline, force_consent=req.force_consent, challenge=req.challenge, method=req.method,
        )
        return req.redirect(code=code, scope=" ".join(req.scopes))

    def _consent_page(self, req: AuthorizeRequest, email: str, error: str | None = None) -> str:
        hidden = "".join(
            f'<input type=hidden name="{esc(k)}" value="{esc(v)}">' for k, v in req.params.items()
        )
        scopes = "".join(f"<li>{esc(s)}</li>" for s in req.scopes)
        problem = f'<p class=error role=alert data-testid="consent-error">{esc(error)}</p>' if error else ""
        return page(
            "Sign in - Google Accounts (sandbox)",
            f'<main><h1>Sign in to continue</h1><p data-testid="consent-client">'
            f"<strong>{esc(req.client.client_id)}</strong> wants to access your Google Account:</p>"
            f'<ul data-testid="consent-scopes">{scopes}</ul>{problem}'
            f'<form method=post action="" data-testid="consent-form">{hidden}'
            '<label for=email>Account email</label>'
            f'<input id=email name=email type=email autocomplete=email required value="{esc(email)}" '
            'data-testid="consent-email">'
            '<p><button class=primary type=submit name=decision value=allow data-testid="consent-allow">Allow'
            '</button><button type=submit name=decision value=deny formnovalidate data-testid="consent-cancel">'
            "Cancel</button></p></form></main>",
        )

    async def token(self, request: Request) -> Response:
        """POST /google/token: ``authorization_code`` and ``refresh_token`` grants."""
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(basic[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return oauth_error(401, "invalid_client", "Unauthorized")
            client_id, secret = user, password
        try:
            client = self.oauth.authenticate_client(client_id, secret)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                if not form.get("code"):
                    return oauth_error(400, "invalid_request", "Missing required parameter: code")
                payload = self.oauth.exchange_code(
                    client, form["code"], form.get("redirect_uri"), form.get("code_verifier")
                )
            elif grant_type == "refresh_token":
                if not form.get("refresh_token"):
                    return oauth_error(400, "invalid_request", "Missing required parameter: refresh_token")
                payload = self.oauth.refresh(client, form["refresh_token"], form.get("scope"))
            else:
                return oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type or ''}")
        except OAuthError as exc:
            return oauth_error(exc.status, exc.error, exc.description)
        return Response(json.dumps(payload).encode(), 200, {"Cache-Control": "no-store"}, media_type=JSON_TYPE)

    async def revoke(self, request: Request) -> Response:
        """POST /google/revoke: 200 ``{}`` on success, 400 ``invalid_token`` otherwise (§2)."""
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}
        token = form.get("token") or request.query_params.get("token")
        if token and self.oauth.revoke_token(token):
            return Response(b"{}", 200, media_type=JSON_TYPE)
        return oauth_error(400, "invalid_token", "Token expired or revoked")
