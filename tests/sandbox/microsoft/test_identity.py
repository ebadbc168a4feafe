"""Identity platform v2.0 contract, driven by MSAL's ConfidentialClientApplication, unmodified (§4)."""

from __future__ import annotations

import base64
import json
import ssl
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msal
import pytest
import requests

from calsync.sandbox.microsoft import TENANT_ID, MicrosoftSandbox
from calsync.sandbox.server import RunningSandbox

from .conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT, authorize_code, pkce, redeem

GRAPH_SCOPES = ["https://graph.microsoft.com/Calendars.ReadWrite"]


def msal_app(sandbox: RunningSandbox, secret: str = CLIENT_SECRET) -> msal.ConfidentialClientApplication:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.tls.ca_cert)
    return msal.ConfidentialClientApplication(
        CLIENT_ID, client_credential=secret, authority=sandbox.endpoints["microsoft"]["authority"],
        instance_discovery=False, http_client=session,
    )


def browser_redirect(http: httpx.Client, auth_uri: str) -> dict[str, str]:
    r = http.get(auth_uri)
    assert r.status_code == 302, r.text
    return {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}


def msal_login(sandbox: RunningSandbox, http: httpx.Client, email: str) -> tuple[msal.ConfidentialClientApplication,
                                                                                 dict[str, Any]]:
    sandbox.sandbox.context.auto_consent = True
    app = msal_app(sandbox)
    flow = app.initiate_auth_code_flow(GRAPH_SCOPES, redirect_uri=REDIRECT, login_hint=email)
    result = app.acquire_token_by_auth_code_flow(flow, browser_redirect(http, flow["auth_uri"]))
    assert "access_token" in result, result
    return app, result


def test_openid_configuration_names_tenant_endpoints(http: httpx.Client, ms: MicrosoftSandbox) -> None:
    """Discovery answers for common and the tenant GUID with endpoints whose first segment is the tenant."""
    for tenant in ("common", TENANT_ID):
        cfg = http.get(f"/{tenant}/v2.0/.well-known/openid-configuration").json()
        assert urlsplit(cfg["token_endpoint"]).path == f"/{tenant}/oauth2/v2.0/token"
        assert urlsplit(cfg["authorization_endpoint"]).path == f"/{tenant}/oauth2/v2.0/authorize"
        assert cfg["issuer"].endswith(f"/{TENANT_ID}/v2.0") and cfg["jwks_uri"]
    assert http.get("/nottenant/v2.0/.well-known/openid-configuration").status_code == 404


def test_msal_auth_code_flow_with_pkce(sandbox: RunningSandbox, http: httpx.Client, ms: MicrosoftSandbox) -> None:
    """MSAL's auth-code flow (PKCE S256, state, nonce) yields tokens, id_token claims and a uid.utid account."""
    app, result = msal_login(sandbox, http, "Carol@Example.com")
    claims = result["id_token_claims"]
    assert claims["preferred_username"] == "carol@example.com" and claims["tid"] == TENANT_ID
    assert claims["aud"] == CLIENT_ID and claims["oid"] and claims["sub"] and claims["name"]
    assert "refresh_token" in result and result["token_type"] == "Bearer"
    assert "Calendars.ReadWrite" in result["scope"]
    (account,) = app.get_accounts()
    assert account["home_account_id"] == f"{claims['oid']}.{TENANT_ID}"
    assert ms.account_emails() == ["carol@example.com"]


def test_client_info_and_nonce_are_echoed(http: httpx.Client, ms: MicrosoftSandbox, sandbox: RunningSandbox) -> None:
    """client_info=1 returns base64url {uid, utid}; the id_token echoes the nonce sent to authorize."""
    sandbox.sandbox.context.auto_consent = True
    code, verifier = authorize_code(http, "dan@example.com", nonce="abc123")
    r = http.post("/common/oauth2/v2.0/token", data={
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "authorization_code", "code": code,
        "redirect_uri": REDIRECT, "code_verifier": verifier, "client_info": "1",
        "scope": "Calendars.ReadWrite openid offline_access",
    })
    body = r.json()
    info = json.loads(base64.urlsafe_b64decode(body["client_info"] + "=="))
    assert info["utid"] == TENANT_ID and info["uid"]
    payload = body["id_token"].split(".")[1]
    assert json.loads(base64.urlsafe_b64decode(payload + "=="))["nonce"] == "abc123"


def test_consent_page_accept_and_cancel(sandbox: RunningSandbox, http: httpx.Client, ms: MicrosoftSandbox) -> None:
    """Without auto-consent the authorize page asks; Accept redirects with a code, Cancel with access_denied."""
    app = msal_app(sandbox)
    flow = app.initiate_auth_code_flow(GRAPH_SCOPES, redirect_uri=REDIRECT, login_hint="erin@example.com")
    page = http.get(flow["auth_uri"])
    assert page.status_code == 200 and 'value="erin@example.com"' in page.text
    assert 'data-testid="consent-accept"' in page.text and "Calendars.ReadWrite" in page.text
    form = dict(parse_qs(urlsplit(flow["auth_uri"]).query))
    fields = {k: v[0] for k, v in form.items()}
    cancel = http.post(urlsplit(flow["auth_uri"]).path, data={**fields, "decision": "cancel"})
    assert cancel.status_code == 302
    denied = parse_qs(urlsplit(cancel.headers["location"]).query)
    assert denied["error"] == ["access_denied"] and denied["state"] == [flow["state"]]
    accept = http.post(urlsplit(flow["auth_uri"]).path,
                       data={**fields, "decision": "accept", "email": "erin@example.com"})
    assert accept.status_code == 302
    response = {k: v[0] for k, v in parse_qs(urlsplit(accept.headers["location"]).query).items()}
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert result["id_token_claims"]["preferred_username"] == "erin@example.com"


def test_unknown_client_and_redirect_get_error_page(http: httpx.Client, ms: MicrosoftSandbox) -> None:
    """An unknown client or unregistered redirect URI gets an error page (AADSTS700016 / 50011), never a redirect."""
    base = {"response_type": "code", "scope": "openid", "state": "s"}
    r = http.get("/common/oauth2/v2.0/authorize", params={**base, "client_id": "nope", "redirect_uri": REDIRECT})
    assert r.status_code == 400 and "AADSTS700016" in r.text and "location" not in r.headers
    r = http.get("/common/oauth2/v2.0/authorize",
                 params={**base, "client_id": CLIENT_ID, "redirect_uri": "https://evil.example/cb"})
    assert r.status_code == 400 and "AADSTS50011" in r.text and "location" not in r.headers


def test_wrong_secret_is_invalid_client(sandbox: RunningSandbox, http: httpx.Client, ms: MicrosoftSandbox) -> None:
    """A wrong client secret gets 401 invalid_client AADSTS7000215 (MSAL surfaces it as the error)."""
    sandbox.sandbox.context.auto_consent = True
    app = msal_app(sandbox, secret="wrong")
    flow = app.initiate_auth_code_flow(GRAPH_SCOPES, redirect_uri=REDIRECT, login_hint="fay@example.com")
    result = app.acquire_token_by_auth_code_flow(flow, browser_redirect(http, flow["auth_uri"]))
    assert result["error"] == "invalid_client" and 7000215 in result["error_codes"]


def test_code_is_one_time(sandbox: RunningSandbox, http: httpx.Client, ms: MicrosoftSandbox) -> None:
    """Redeeming a code twice gives invalid_grant AADSTS54005."""
    sandbox.sandbox.context.auto_consent = True
    app = msal_app(sandbox)
    flow = app.initiate_auth_code_flow(GRAPH_SCOPES, redirect_uri=REDIRECT, login_hint="gus@example.com")
    response = browser_redirect(http, flow["auth_uri"])
    assert "access_token" in app.acquire_token_by_auth_code_flow(dict(flow), response)
    again = app.acquire_token_by_auth_code_flow(dict(flow), response)
    assert again["error"] == "invalid_grant" and again["error_codes"] == [54005]
    for key in ("error_description", "timestamp", "trace_id", "correlation_id", "error_uri"):
        assert key in again
    assert again["error_description"].startswith("AADSTS54005:")


def test_expired_code(sandbox: RunningSandbox, http: httpx.Client, ms: MicrosoftSandbox) -> None:
    """A code redeemed after its lifetime gives invalid_grant AADSTS70008."""
    sandbox.sandbox.context.auto_consent = True
    app = msal_app(sandbox)
    flow = app.initiate_auth_code_flow(GRAPH_SCOPES, redirect_uri=REDIRECT, login_hint="hal@example.com")
    response = browser_redirect(http, flow["auth_uri"])
    sandbox.sandbox.clock.advance(ms.settings.code_seconds + 1)
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert result["error"] == "invalid_grant" and result["error_codes"] == [70008]


def test_wrong_pkce_verifier(sandbox: RunningSandbox, http: httpx.Client, ms: MicrosoftSandbox) -> None:
    """A code_verifier that does not match the S256 challenge gives invalid_grant."""
    sandbox.sandbox.context.auto_consent = True
    app = msal_app(sandbox)
    flow = app.initiate_auth_code_flow(GRAPH_SCOPES, redirect_uri=REDIRECT, login_hint="ivy@example.com")
    response = browser_redirect(http, flow["auth_uri"])
    flow["code_verifier"] = "x" * 50
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert result["error"] == "invalid_grant" and "code_verifier" in result["error_description"].lower()


def test_pkce_plain(sandbox: RunningSandbox, http: httpx.Client, ms: MicrosoftSandbox) -> None:
    """code_challenge_method=plain is checked too: the verifier must equal the challenge."""
    sandbox.sandbox.context.auto_consent = True
    r = http.get("/common/oauth2/v2.0/authorize", params={
        "client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT, "scope": "Calendars.Read",
        "login_hint": "jo@example.com", "code_challenge": "plain-verifier-" + "a" * 30,
        "code_challenge_method": "plain",
    })
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    bad = redeem(http, code, "other", "Calendars.Read")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    good = redeem(http, code, "plain-verifier-" + "a" * 30, "Calendars.Read")
    assert good.status_code == 200


def test_refresh_rotates_and_old_token_stays_valid(
    sandbox: RunningSandbox, http: httpx.Client, ms: MicrosoftSandbox
) -> None:
    """Each refresh returns a new refresh token; the previous one still works (§4)."""
    app, first = msal_login(sandbox, http, "kim@example.com")
    second = app.acquire_token_by_refresh_token(first["refresh_token"], GRAPH_SCOPES)
    assert "access_token" in second and second["refresh_token"] != first["refresh_token"]
    third = msal_app(sandbox).acquire_token_by_refresh_token(first["refresh_token"], GRAPH_SCOPES)
    assert "access_token" in third and third["refresh_token"] not in (first["refresh_token"],
                                                                       second["refresh_token"])


@pytest.mark.parametrize(
    ("fault", "code", "suberror"),
    [
        ("revoke", 50173, None),
        ("password_changed", 50173, None),
        ("expire_refresh_tokens", 700082, None),
        ("revoke_consent", 65001, "consent_required"),
    ],
)
def test_refresh_invalid_grant_cases(
    sandbox: RunningSandbox, http: httpx.Client, ms: MicrosoftSandbox, fault: str, code: int, suberror: str | None
) -> None:
    """Revocation, password change, inactivity and withdrawn consent each fail refresh with their AADSTS code."""
    _, first = msal_login(sandbox, http, f"{fault.replace('_', '')}@example.com")
    getattr(ms, fault)(f"{fault.replace('_', '')}@example.com")
    result = msal_app(sandbox).acquire_token_by_refresh_token(first["refresh_token"], GRAPH_SCOPES)
    assert result["error"] == "invalid_grant" and result["error_codes"] == [code], result
    assert result.get("suberror") == suberror
    ctx = ssl.create_default_context(cafile=str(sandbox.tls.ca_cert))
    me = httpx.get(sandbox.endpoints["microsoft"]["graph"] + "/me", verify=ctx,
                   headers={"Authorization": f"Bearer {first['access_token']}"})
    if fault != "expire_refresh_tokens":
        assert me.status_code == 401 and me.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_refresh_expires_after_90_days_of_inactivity(
    sandbox: RunningSandbox, http: httpx.Client, ms: MicrosoftSandbox
) -> None:
    """A refresh token unused for longer than 90 days fails with AADSTS700082 (clock moved, no admin call)."""
    _, first = msal_login(sandbox, http, "lee@example.com")
    sandbox.sandbox.clock.advance(91 * 86400)
    result = msal_app(sandbox).acquire_token_by_refresh_token(first["refresh_token"], GRAPH_SCOPES)
    assert result["error_codes"] == [700082] and "inactive" in result["error_description"]


def test_password_change_can_spare_confidential_clients(
    sandbox: RunningSandbox, http: httpx.Client, ms: MicrosoftSandbox
) -> None:
    """With password_change_revokes_confidential off, a confidential client's refresh survives a password change
    while a public client's does not."""
    ms.settings.password_change_revokes_confidential = False
    ms.register_client("public-app", None, [REDIRECT])
    _, conf = msal_login(sandbox, http, "max@example.com")
    verifier, challenge = pkce()
    r = http.get("/common/oauth2/v2.0/authorize", params={
        "client_id": "public-app", "response_type": "code", "redirect_uri": REDIRECT,
        "scope": "Calendars.Read offline_access", "login_hint": "max@example.com", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    public = http.post("/common/oauth2/v2.0/token", data={
        "client_id": "public-app", "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier}).json()
    ms.password_changed("max@example.com")
    assert "access_token" in msal_app(sandbox).acquire_token_by_refresh_token(conf["refresh_token"], GRAPH_SCOPES)
    pub = http.post("/common/oauth2/v2.0/token", data={
        "client_id": "public-app", "grant_type": "refresh_token", "refresh_token": public["refresh_token"]})
    assert pub.status_code == 400 and pub.json()["error_codes"] == [50173]


def test_token_endpoint_faults_use_oauth_body(
    sandbox: RunningSandbox, http: httpx.Client, ms: MicrosoftSandbox
) -> None:
    """An injected 503 on the token endpoint answers an OAuth error body with Retry-After."""
    sandbox.sandbox.faults.microsoft.fail_next(503, path_contains="/oauth2/v2.0/token", retry_after=2)
    r = http.post("/common/oauth2/v2.0/token", data={"client_id": CLIENT_ID, "grant_type": "refresh_token"})
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert r.json()["error"] == "temporarily_unavailable"
