"""Google OAuth 2.0 (provider-facts §2) driven by google-auth-oauthlib's Flow, google-auth and plain HTTP."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request as GARequest
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from googleapiclient.errors import HttpError
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError

from .conftest import CAL, CAL_RO, CLIENT_ID, EVENTS, REDIRECT, SECRET, GoogleKit, reason


def flow_for(g: GoogleKit, scopes: list[str] | None = None) -> Flow:
    config = {"web": {"client_id": CLIENT_ID, "client_secret": SECRET, "auth_uri": g.ep["authorize"],
                      "token_uri": g.ep["token"]}}
    return Flow.from_client_config(config, scopes=scopes or [CAL], redirect_uri=REDIRECT)


def consent(g: GoogleKit, url: str, email: str | None = None, decision: str = "allow") -> dict[str, str]:
    """Open the consent page, submit its form as a person would, return the redirect's query parameters."""
    with g.http() as c:
        page = c.get(url)
        assert page.status_code == 200, page.text
        fields = {html.unescape(k): html.unescape(v)
                  for k, v in re.findall(r'<input type=hidden name="([^"]*)" value="([^"]*)">', page.text)}
        prefilled = re.search(r'data-testid="consent-email"', page.text)
        assert prefilled
        fields["email"] = email if email is not None else html.unescape(
            re.search(r'name=email type=email[^>]*value="([^"]*)"', page.text).group(1))
        fields["decision"] = decision
        answer = c.post(url, content=urlencode(fields),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def post_token(g: GoogleKit, **form: str) -> Any:
    with g.http() as c:
        return c.post(g.ep["token"], data=form)


def test_flow_consent_pkce_and_fetch_token(g: GoogleKit) -> None:
    """Flow's PKCE S256 authorization URL, a consent with login_hint prefilled, and fetch_token all work."""
    flow = flow_for(g)
    url, state = flow.authorization_url(login_hint="alice@example.com")
    got = consent(g, url)
    assert got["state"] == state
    token = flow.fetch_token(code=got["code"], verify=g.ca)
    assert token["access_token"] and token["refresh_token"] and token["expires_in"] == 3599
    assert "alice@example.com" in g.google.account_emails()
    svc = g.service("x", creds=flow.credentials)
    assert svc.calendarList().list().execute()["items"][0]["id"] == "alice@example.com"


def test_cancel_redirects_with_access_denied_and_state(g: GoogleKit) -> None:
    """Cancel on the consent page redirects with error=access_denied and echoes state."""
    url, state = flow_for(g).authorization_url(login_hint="bob@example.com")
    got = consent(g, url, decision="deny")
    assert got == {"error": "access_denied", "state": state}


def test_auto_consent_redirects_at_once(g: GoogleKit) -> None:
    """With auto_consent, authorize redirects straight away with a code for the login_hint account."""
    g.running.sandbox.context.auto_consent = True
    flow = flow_for(g)
    url, state = flow.authorization_url(login_hint="new@example.com")
    with g.http() as c:
        r = c.get(url)
    assert r.status_code == 302
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["state"] == [state]
    assert flow.fetch_token(code=query["code"][0], verify=g.ca)["access_token"]
    assert "new@example.com" in g.google.account_emails()


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({"client_id": "nobody"}, 401, "invalid_client"),
        ({"redirect_uri": "https://evil.example/cb"}, 400, "redirect_uri_mismatch"),
        ({"redirect_uri": REDIRECT + "/"}, 400, "redirect_uri_mismatch"),
        ({"scope": ""}, 400, "invalid_request"),
        ({"code_challenge_method": "S512", "code_challenge": "x"}, 400, "invalid_request"),
    ],
)
def test_authorize_refuses_without_redirecting(g: GoogleKit, params: dict[str, str], status: int, error: str) -> None:
    """Unknown clients, unregistered (even near-miss) redirect URIs and bad requests get an error page, no redirect."""
    query = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code", "scope": CAL,
             "state": "s"} | params
    with g.http() as c:
        r = c.get(g.ep["authorize"] + "?" + urlencode(query))
    assert r.status_code == status and "location" not in r.headers
    assert f"Error {status}: {error}" in r.text


def _code(g: GoogleKit, **extra: str) -> str:
    query = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code", "scope": CAL,
             "login_hint": "carol@example.com"} | extra
    return consent(g, g.ep["authorize"] + "?" + urlencode(query))["code"]


def _exchange(g: GoogleKit, code: str, **extra: str) -> Any:
    return post_token(g, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, client_id=CLIENT_ID,
                      client_secret=SECRET, **extra)


def test_pkce_plain_and_s256_verified_at_token_endpoint(g: GoogleKit) -> None:
    """plain (method absent) and S256 challenges accept the right verifier and refuse a wrong one with invalid_grant."""
    verifier = "v" * 50
    assert _exchange(g, _code(g, code_challenge=verifier), code_verifier=verifier).status_code == 200
    bad = _exchange(g, _code(g, code_challenge=verifier), code_verifier="w" * 50)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    s256 = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    code = _code(g, code_challenge=s256, code_challenge_method="S256")
    assert _exchange(g, code, code_verifier=verifier).status_code == 200
    missing = _exchange(g, _code(g, code_challenge=s256, code_challenge_method="S256"))
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_grant"


def test_flow_with_wrong_verifier_raises_invalid_grant(g: GoogleKit) -> None:
    """Flow.fetch_token with a verifier that does not match the challenge fails with invalid_grant."""
    flow = flow_for(g)
    url, _ = flow.authorization_url(login_hint="dave@example.com")
    code = consent(g, url)["code"]
    flow.code_verifier = "x" * 64
    with pytest.raises(InvalidGrantError):
        flow.fetch_token(code=code, verify=g.ca)


def test_codes_are_one_time_and_short_lived(g: GoogleKit) -> None:
    """A code works once; the second exchange and an exchange after 10 minutes are invalid_grant."""
    code = _code(g)
    assert _exchange(g, code).status_code == 200
    again = _exchange(g, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    late = _code(g)
    g.running.sandbox.clock.advance(601)
    assert _exchange(g, late).json()["error"] == "invalid_grant"


def test_refresh_token_only_offline_and_first_consent_unless_prompt_consent(g: GoogleKit) -> None:
    """access_type=offline gives a refresh token at first consent only; prompt=consent gives another; online never."""
    assert "refresh_token" not in _exchange(g, _code(g)).json()
    first = _exchange(g, _code(g, access_type="offline")).json()
    assert "refresh_token" in first
    assert "refresh_token" not in _exchange(g, _code(g, access_type="offline")).json()
    assert "refresh_token" in _exchange(g, _code(g, access_type="offline", prompt="consent")).json()


def test_client_authentication_form_and_basic(g: GoogleKit) -> None:
    """The secret is checked in the form and in HTTP Basic; wrong or unknown clients get 401 invalid_client."""
    wrong = post_token(g, grant_type="authorization_code", code=_code(g), redirect_uri=REDIRECT,
                       client_id=CLIENT_ID, client_secret="nope")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    unknown = post_token(g, grant_type="refresh_token", refresh_token="x", client_id="nobody", client_secret="x")
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    with g.http() as c:
        ok = c.post(g.ep["token"], data={"grant_type": "authorization_code", "code": _code(g),
                                          "redirect_uri": REDIRECT}, headers={"Authorization": f"Basic {basic}"})
    assert ok.status_code == 200
    assert post_token(g, grant_type="password", client_id=CLIENT_ID,
                      client_secret=SECRET).json()["error"] == "unsupported_grant_type"


def test_google_auth_refreshes_against_sandbox(g: GoogleKit) -> None:
    """google-auth Credentials refresh through the sandbox token endpoint; the refresh keeps the refresh token."""
    creds = g.credentials("erin@example.com")
    old = creds.token
    creds.refresh(GARequest(g.session()))
    assert creds.token != old and creds.refresh_token
    assert g.api("GET", "users/me/calendarList", creds.token).status_code == 200


def test_expired_access_token_is_401_and_client_refreshes(g: GoogleKit) -> None:
    """After an hour the access token gets 401 authError; googleapiclient refreshes and retries on its own."""
    creds = g.credentials("frank@example.com")
    svc = g.service("frank@example.com", creds=creds)
    first = creds.token
    g.running.sandbox.clock.advance(3600)
    r = g.api("GET", "users/me/calendarList", first)
    assert r.status_code == 401 and r.json()["error"]["errors"][0]["reason"] == "authError"
    assert svc.calendarList().list().execute()["items"]
    assert creds.token != first


@pytest.mark.parametrize("fault", ["revoke", "password", "expire"])
def test_invalid_grant_after_revocation_password_change_or_expiry(g: GoogleKit, fault: str) -> None:
    """Revoked grants, a password change and expired refresh tokens all refuse refresh with invalid_grant."""
    creds = g.credentials("gina@example.com")
    if fault == "revoke":
        g.google.revoke_grants("gina@example.com")
    elif fault == "password":
        g.google.password_changed("gina@example.com")
    else:
        g.google.expire_refresh_tokens("gina@example.com")
    with pytest.raises(RefreshError, match="invalid_grant: Token has been expired or revoked."):
        creds.refresh(GARequest(g.session()))


def test_revoke_endpoint_revokes_whole_grant(g: GoogleKit) -> None:
    """POST /revoke with the refresh token kills the access token too; an unknown token is 400."""
    tok = g.tokens("hank@example.com")
    with g.http() as c:
        assert c.post(g.ep["revoke"], data={"token": tok["refresh_token"]}).status_code == 200
        assert c.post(g.ep["revoke"], data={"token": "nonsense"}).status_code == 400
    assert g.api("GET", "users/me/calendarList", tok["access_token"]).status_code == 401
    refused = post_token(g, grant_type="refresh_token", refresh_token=tok["refresh_token"], client_id=CLIENT_ID,
                         client_secret=SECRET)
    assert refused.status_code == 400 and refused.json() == {
        "error": "invalid_grant", "error_description": "Token has been expired or revoked."}


def test_scopes_are_enforced(g: GoogleKit) -> None:
    """calendar.events can write events but not list calendars; readonly cannot write; no token is 401."""
    events_only = g.tokens("ivy@example.com", (EVENTS,))["access_token"]
    body = {"summary": "x", "start": {"date": "2030-01-01"}, "end": {"date": "2030-01-02"}}
    assert g.api("POST", "calendars/primary/events", events_only, json=body).status_code == 200
    r = g.api("GET", "users/me/calendarList", events_only)
    assert r.status_code == 403
    assert r.json()["error"]["errors"][0] == {
        "domain": "global", "reason": "insufficientPermissions",
        "message": "Request had insufficient authentication scopes."}
    readonly = g.service("ivy@example.com", (CAL_RO,))
    assert readonly.events().list(calendarId="primary").execute()["items"]
    with pytest.raises(HttpError) as info:
        readonly.events().insert(calendarId="primary", body=body).execute()
    assert info.value.resp.status == 403 and reason(info.value) == "insufficientPermissions"
    none = g.api("GET", "calendars/primary/events", None)
    assert none.status_code == 401 and none.json()["error"]["errors"][0]["location"] == "Authorization"


def test_refresh_token_never_returns_a_new_refresh_token(g: GoogleKit) -> None:
    """The refresh grant answers an access token, expires_in 3599 and no refresh_token (§2)."""
    tok = g.tokens("jo@example.com")
    r = post_token(g, grant_type="refresh_token", refresh_token=tok["refresh_token"], client_id=CLIENT_ID,
                   client_secret=SECRET)
    body = r.json()
    assert r.status_code == 200 and "refresh_token" not in body and body["expires_in"] == 3599
    assert body["scope"] == CAL and body["token_type"] == "Bearer"


def test_credentials_helper_type(g: GoogleKit) -> None:
    """Credentials built directly keep the sandbox token_uri (from_authorized_user_info would not, §2)."""
    creds = g.credentials("kim@example.com")
    assert isinstance(creds, Credentials) and creds.token_uri == g.ep["token"]
