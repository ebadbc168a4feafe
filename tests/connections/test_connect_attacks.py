"""Bad inputs and attacks on connecting, for both providers: each is refused with a clear message, logged without
secrets, and changes nothing stored (the connection tables; a spent state is the one intended change)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from calsync.core.connection import Provider
from calsync.core.model import Module
from calsync.services import organizations
from calsync.services.auth import principal
from calsync.store.sync_models import ConnectionLogRow, ConnectionRow
from tests.connections.conftest import BASE_URL, CSRF_TOKEN, World, build_test_runtime, query_of

TABLES = (ConnectionRow.__tablename__, ConnectionLogRow.__tablename__)


@pytest.fixture
def stored(world: World, snapshot: Callable[[], dict[str, list[tuple[object, ...]]]]) -> Callable[[], Any]:
    """The connection tables as stored (a refused callback must leave them exactly as they were)."""
    return lambda: {name: rows for name, rows in snapshot().items() if name in TABLES}


def refused(response: httpx.Response, *phrases: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert 'href="/profile/calendar"' in response.text
    for phrase in phrases:
        assert phrase in response.text, response.text


def test_forged_state_is_refused(
    world: World, provider: Provider, stored: Callable[[], Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A callback with a state calsync never issued is refused as unknown or forged; nothing is stored."""
    browser = world.browser()
    world.start(browser, "ann", provider)
    before = stored()
    code, state = "forged-code-" + secrets.token_hex(8), secrets.token_urlsafe(32)
    with caplog.at_level(logging.DEBUG):
        r = browser.get(f"/oauth/{provider.value}/callback?" + urlencode({"state": state, "code": code}))
    refused(r, "unknown or forged")
    assert stored() == before
    assert "refused" in caplog.text and state not in caplog.text and code not in caplog.text


def test_replayed_state_is_refused_and_the_code_is_not_exchanged_again(
    world: World, provider: Provider, stored: Callable[[], Any], count_provider_requests: Any
) -> None:
    """Delivering a completed callback again (same state and code) is refused before any provider call."""
    browser = world.browser()
    callback = world.authorize(world.start(browser, "ann", provider))
    assert browser.get(callback).status_code == 303
    before = stored()
    seen = count_provider_requests(provider)
    r = browser.get(callback)
    refused(r, "already used")
    assert stored() == before and seen() == 0


def test_expired_state_is_refused(world: World, provider: Provider, stored: Callable[[], Any]) -> None:
    """A callback more than 10 minutes after the start is refused as expired."""
    browser = world.browser()
    callback = world.authorize(world.start(browser, "ann", provider))
    world.clock.advance(minutes=10, seconds=5)
    before = stored()
    refused(browser.get(callback), "expired")
    assert stored() == before
    assert world.status("ann") == {"connected": False}


def test_callback_from_another_browser_is_refused(world: World, provider: Provider, stored: Callable[[], Any]) -> None:
    """Without the binding cookie, or with another browser's, the callback is refused (login CSRF, code theft)."""
    victim = world.browser()
    callback = world.authorize(world.start(victim, "ann", provider))
    before = stored()
    refused(world.browser().get(callback), "another browser")  # no binding cookie at all
    attacker = world.browser()
    world.start(attacker, "bob", provider)  # the attacker's own, valid binding cookie
    refused(attacker.get(callback), "another browser")
    assert stored() == before
    assert victim.get(callback).status_code == 303  # the rightful browser still completes: nothing was spent


def test_another_persons_state_is_refused(world: World, provider: Provider, stored: Callable[[], Any]) -> None:
    """A callback carrying Ann's state, in a browser signed in as Bob, is refused: it belongs to someone else."""
    browser = world.browser()
    callback = world.authorize(world.start(browser, "ann", provider))
    world.sign_in(browser, "bob")
    before = stored()
    refused(browser.get(callback), "belongs to someone else")
    assert stored() == before
    assert world.status("bob") == {"connected": False} and world.status("ann") == {"connected": False}


def test_cancel_at_the_provider_is_refused_with_a_plain_message(
    world: World, provider: Provider, stored: Callable[[], Any]
) -> None:
    """The person presses Cancel on the consent page: the provider returns access_denied, calsync says so."""
    world.sandbox.sandbox.context.auto_consent = False
    browser = world.browser()
    url = world.start(browser, "ann", provider)
    params = query_of(url)
    target = urlsplit(url)._replace(query="").geturl()
    decision = {"decision": "deny"} if provider is Provider.GOOGLE else {"decision": "cancel"}
    with world.sandbox_http() as http:
        r = http.post(target, data={**params, **decision})
    assert r.status_code in (302, 303), r.text[:300]
    callback = r.headers["location"]
    assert query_of(callback)["error"] == "access_denied"
    before = stored()
    refused(browser.get(callback), "you cancelled", "try again")
    assert stored() == before


def test_a_code_already_exchanged_is_refused_by_the_provider(
    world: World, provider: Provider, stored: Callable[[], Any]
) -> None:
    """A used code, smuggled in with a fresh valid state, is refused at the provider; nothing changes."""
    browser = world.browser()
    first = world.authorize(world.start(browser, "ann", provider))
    assert browser.get(first).status_code == 303
    before = stored()
    second = world.authorize(world.start(browser, "ann", provider))
    smuggled = f"/oauth/{provider.value}/callback?" + urlencode(
        {"state": query_of(second)["state"], "code": query_of(first)["code"]}
    )
    refused(browser.get(smuggled), "not connected", "did not accept this authorization")
    assert stored() == before


def test_wrong_pkce_verifier_is_refused(world: World, provider: Provider, stored: Callable[[], Any]) -> None:
    """A fresh code sent with another flow's state (so another PKCE verifier) is refused by the provider."""
    browser = world.browser()
    a = world.authorize(world.start(browser, "ann", provider))
    b = world.authorize(world.start(browser, "ann", provider))
    before = stored()
    crossed = f"/oauth/{provider.value}/callback?" + urlencode(
        {"state": query_of(b)["state"], "code": query_of(a)["code"]}
    )
    refused(browser.get(crossed), "not connected")
    assert stored() == before
    assert world.status("ann") == {"connected": False}


def test_redirect_targets_in_parameters_are_ignored(world: World, provider: Provider) -> None:
    """next=/redirect_uri=/return_to= on the callback or the connect route never choose where the browser goes."""
    evil = "https://evil.example/steal"
    browser = world.browser()
    world.sign_in(browser, "ann")
    r = world.press_connect(browser, provider, "?" + urlencode({"next": evil, "redirect_uri": evil}))
    assert r.status_code == 303 and "evil.example" not in r.headers["location"]
    assert query_of(r.headers["location"])["redirect_uri"] == f"{BASE_URL}/oauth/{provider.value}/callback"
    callback = world.authorize(r.headers["location"])
    done = browser.get(callback + "&" + urlencode({"next": evil, "return_to": evil, "redirect_uri": evil}))
    assert done.status_code == 303 and done.headers["location"] == "/profile/calendar?done=connected"


def test_unknown_provider_is_refused(world: World) -> None:
    """An unknown provider name gets a message naming the two that exist, on the API and the browser routes."""
    browser = world.browser()
    r = browser.post("/api/v1/me/calendar/connect", json={"provider": "yahoo"}, headers=world.h("ann"))
    assert r.status_code == 422 and "use 'google' or 'microsoft'" in r.json()["error"]["message"]
    world.sign_in(browser, "ann")
    refused(world.press_connect(browser, "yahoo"), "use &#39;google&#39; or &#39;microsoft&#39;")
    refused(browser.get("/oauth/yahoo/callback?state=x&code=y"), "Unknown calendar provider")  # a sentence


def test_events_module_off_is_403(world: World, provider: Provider) -> None:
    """A person whose organization has Events off cannot start connecting (API and browser route say why)."""
    browser = world.browser()
    r = browser.post("/api/v1/me/calendar/connect", json={"provider": provider.value}, headers=world.h("ivan"))
    assert r.status_code == 403 and "Events module" in r.json()["error"]["message"]
    r = browser.get("/api/v1/me/calendar/calendars", headers=world.h("ivan"))
    assert r.status_code == 403


def test_events_module_turned_off_blocks_the_browser_route(world: World, provider: Provider) -> None:
    """After an admin turns Events off, pressing Connect is a 403 page that says so."""
    browser = world.browser()
    world.sign_in(browser, "ann")
    page = browser.get("/profile/calendar")
    token = CSRF_TOKEN.search(page.text)
    assert token
    organizations.set_module(world.runtime.service, principal(world.people["ada"]), Module.EVENTS, False)
    refused(
        browser.post(f"/connect/{provider.value}", data={"csrf_token": token.group(1)}), "Events module", status=403
    )


def test_reading_or_changing_someone_elses_connection(world: World, provider: Provider) -> None:
    """Members cannot read others' connections (403), other organizations cannot see them (404), support can;
    every 'me' route acts on the caller only."""
    world.connect("ann", provider)
    ann = world.people["ann"].id
    client = world.browser()
    assert client.get(f"/api/v1/people/{ann}/calendar", headers=world.h("bob")).status_code == 403
    assert client.get("/api/v1/connections", headers=world.h("bob")).status_code == 403
    assert client.get(f"/api/v1/people/{ann}/calendar", headers=world.h("gus")).status_code == 404
    assert client.get(f"/api/v1/people/{2**40}/calendar", headers=world.h("sue")).status_code == 404
    seen = client.get(f"/api/v1/people/{ann}/calendar", headers=world.h("sue"))
    assert seen.status_code == 200 and seen.json()["account_email"] == "ann@acme.test"
    listing = client.get("/api/v1/connections", headers=world.h("ada"))
    assert listing.status_code == 200 and [c["person_id"] for c in listing.json()] == [ann]
    assert client.get("/api/v1/connections?status=error", headers=world.h("ada")).json() == []
    assert client.get("/api/v1/connections", headers=world.h("gus")).json() == []
    r = client.put("/api/v1/me/calendar/target", json={"create_dedicated": True}, headers=world.h("bob"))
    assert r.status_code == 404 and "no connected calendar" in r.json()["error"]["message"]
    r = client.post("/api/v1/me/calendar/disconnect", json={"remove_entries": True}, headers=world.h("bob"))
    assert r.status_code == 404
    assert world.status("ann")["status"] == "connected"
    body = seen.text + listing.text
    assert not any(token in body for token in world.issued_tokens())


def test_provider_answer_missing_fields_is_refused(world: World, provider: Provider, stored: Callable[[], Any]) -> None:
    """A calendar list whose items lack their ids (edited at the transport) ends the connect with a clear message."""

    class Strip(httpx.BaseTransport):
        def __init__(self, inner: httpx.BaseTransport) -> None:
            self.inner = inner

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = self.inner.handle_request(request)
            path = request.url.path
            if path.endswith("/calendarList") or path.endswith("/me/calendars"):
                response.read()
                body = response.json()
                for item in body.get("items", body.get("value", [])):
                    item.pop("id", None)
                return httpx.Response(response.status_code, json=body)
            return response

    config = world.runtime.providers.config
    http = httpx.Client(transport=Strip(httpx.HTTPTransport(verify=config.tls.ssl_context())), trust_env=False)
    runtime = build_test_runtime(world.runtime.settings, world.runtime.db, config, world.clock, http=http)
    from fastapi.testclient import TestClient

    from calsync.web.app import create_app

    try:
        with TestClient(
            create_app(world.runtime.settings, runtime=runtime), base_url=BASE_URL, follow_redirects=False
        ) as browser:
            r = browser.post("/api/v1/me/calendar/connect", json={"provider": provider.value}, headers=world.h("ann"))
            before = stored()
            refused(browser.get(world.authorize(r.json()["authorization_url"])), "cannot read", "not connected")
            assert stored() == before
    finally:
        runtime.close()
