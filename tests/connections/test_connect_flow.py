"""Connecting a calendar end to end, for both providers, over HTTPS against the sandbox: the API, the browser
routes, the binding cookie, the callback, and what the connection then says about itself."""

from __future__ import annotations

from http.cookies import SimpleCookie

from calsync.config import Settings
from calsync.core.connection import RECONNECT_FIX, Provider
from calsync.services.connections import CalendarContext
from calsync.web.app import create_app
from calsync.web.routes.oauth import BINDING_COOKIE
from tests.connections.conftest import BASE_URL, CSRF_TOKEN, World, build_test_runtime, query_of


def _binding_cookie_header(set_cookie_headers: list[str]) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in set_cookie_headers:
        if header.startswith(BINDING_COOKIE + "="):
            jar.load(header)
    assert BINDING_COOKIE in jar, set_cookie_headers
    return jar


def test_happy_path_through_the_api_and_the_callback(world: World, provider: Provider) -> None:
    """Start through the API, consent at the provider, come back to the callback: connected, primary is the target."""
    browser = world.browser()
    url = world.start(browser, "ann", provider)
    query = query_of(url)
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert query["redirect_uri"] == f"{BASE_URL}/oauth/{provider.value}/callback"
    assert len(query["state"]) >= 32
    callback = world.authorize(url)
    response = browser.get(callback)
    assert response.status_code == 303
    assert response.headers["location"] == "/profile/calendar?done=connected"

    status = world.status("ann")
    assert status["connected"] is True and status["status"] == "connected"
    assert status["provider"] == provider.value
    assert status["account_email"] == "ann@acme.test"
    assert status["need_full_sync"] is True and "connected" in status["need_full_sync_reason"]
    primary = "ann@acme.test" if provider is Provider.GOOGLE else "Calendar"
    assert status["target_calendar"]["name"] == primary and status["target_calendar"]["dedicated"] is False
    assert status["reason"] is None and status["fix"] is None
    assert status["connected_at"] is not None
    text = response.text + str(status)
    assert not any(token in text for token in world.issued_tokens())


def test_binding_cookie_attributes(world: World, provider: Provider) -> None:
    """The binding cookie is HttpOnly, SameSite=Lax, scoped to /oauth and lives as long as the state (10 min)."""
    browser = world.browser()
    r = browser.post("/api/v1/me/calendar/connect", json={"provider": provider.value}, headers=world.h("ann"))
    assert r.status_code == 200
    morsel = _binding_cookie_header(r.headers.get_list("set-cookie"))[BINDING_COOKIE]
    assert morsel["httponly"] and morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/oauth" and morsel["max-age"] == "600"
    assert not morsel["secure"]  # base URL is http here; see the https test
    assert len(morsel.value) >= 40


def test_binding_cookie_is_secure_behind_https(world: World, provider: Provider) -> None:
    """When calsync's public URL is https, the binding cookie is Secure."""
    settings = Settings(data_dir=world.runtime.settings.data_dir, base_url="https://calsync.example")
    runtime = build_test_runtime(
        settings, world.runtime.db, world.runtime.providers.config, world.clock
    )
    try:
        app = create_app(settings, runtime=runtime)
        from fastapi.testclient import TestClient

        with TestClient(app, base_url="https://calsync.example") as client:
            r = client.post("/api/v1/me/calendar/connect", json={"provider": provider.value}, headers=world.h("ann"))
        assert r.status_code == 200, r.text
        morsel = _binding_cookie_header(r.headers.get_list("set-cookie"))[BINDING_COOKIE]
        assert morsel["secure"]
        assert query_of(r.json()["authorization_url"])["redirect_uri"] == (
            f"https://calsync.example/oauth/{provider.value}/callback"
        )
    finally:
        runtime.close()


def test_browser_route_for_a_signed_in_person(world: World, provider: Provider) -> None:
    """Pressing Connect (POST /connect/{provider} with the CSRF token) sends the browser to the provider and the
    callback connects."""
    browser = world.browser()
    world.sign_in(browser, "bob")
    r = world.press_connect(browser, provider)
    assert r.status_code == 303
    assert browser.cookies.get(BINDING_COOKIE)
    endpoints = world.sandbox.endpoints[provider.value]
    authorize = endpoints["authorize"] if provider is Provider.GOOGLE else endpoints["authority"]
    assert r.headers["location"].startswith(authorize)
    done = browser.get(world.authorize(r.headers["location"]))
    assert done.status_code == 303 and done.headers["location"].startswith("/profile/calendar")
    assert world.status("bob")["account_email"] == "bob@acme.test"


def test_browser_route_needs_a_session(world: World, provider: Provider) -> None:
    """Without a session, POST /connect/{provider} (even with a valid token for this browser) asks the person to sign
    in and sends nobody to the provider."""
    browser = world.browser()
    token = CSRF_TOKEN.search(browser.get("/signin").text)
    assert token
    r = browser.post(f"/connect/{provider.value}", data={"csrf_token": token.group(1)})
    assert r.status_code == 401 and "Sign in" in r.text and 'href="/signin"' in r.text
    assert BINDING_COOKIE not in r.headers.get("set-cookie", "")


def test_no_connection_is_just_connected_false(world: World) -> None:
    """GET /me/calendar for someone who never connected is 200 with exactly {"connected": false}."""
    assert world.status("ann") == {"connected": False}


def test_calendar_context_redirect_uri_is_fixed(world: World) -> None:
    """The redirect URI is built from the base URL and the provider only (what is registered at the provider)."""
    cc: CalendarContext = world.cc
    assert cc.redirect_uri(Provider.GOOGLE) == f"{BASE_URL}/oauth/google/callback"
    assert cc.redirect_uri(Provider.MICROSOFT) == f"{BASE_URL}/oauth/microsoft/callback"


def test_reconnect_reuses_the_row_and_asks_for_a_full_sync(world: World, provider: Provider) -> None:
    """Disconnect, then connect the same account again: same connection id, need_full_sync, 'reconnected'."""
    world.connect("ann", provider)
    first = world.status("ann")
    browser = world.browser()
    r = browser.post("/api/v1/me/calendar/disconnect", json={}, headers=world.h("ann"))
    assert r.status_code == 200, r.text
    assert world.status("ann")["status"] == "disconnected"
    world.connect("ann", provider)
    again = world.status("ann")
    assert again["id"] == first["id"] and again["status"] == "connected"
    assert again["need_full_sync"] is True and again["need_full_sync_reason"].startswith("reconnected")


def test_connecting_another_provider_replaces_the_first(world: World, provider: Provider) -> None:
    """Connecting Outlook while Google is connected (or the reverse) disconnects the first, revoking its grant."""
    other = Provider.MICROSOFT if provider is Provider.GOOGLE else Provider.GOOGLE
    world.connect("ann", provider)
    first_id = world.status("ann")["id"]
    world.connect("ann", other)
    now = world.status("ann")
    assert now["provider"] == other.value and now["status"] == "connected" and now["id"] != first_id
    from calsync.store.connections import ConnectionRepository

    with world.runtime.db.session(write=False) as s:
        old = ConnectionRepository(s).get(first_id)
    assert old is not None and old.status.value == "disconnected"
    assert old.access_token_enc is None and old.refresh_token_enc is None
    if provider is Provider.GOOGLE:  # Google has a revocation endpoint: the old grant is gone there
        state = world.emulator(Provider.GOOGLE).state
        with state.lock:
            refresh = [t for t in state.refresh_tokens.values() if t.grant.account == "ann@acme.test"]
        assert refresh and all(t.grant.revoked for t in refresh)


def test_reconnect_fix_text_is_what_the_seeds_say(world: World) -> None:
    """The fix shown for a broken connection is the seeds' advice: disconnect, then connect again."""
    assert "Disconnect" in RECONNECT_FIX and "connect it again" in RECONNECT_FIX
