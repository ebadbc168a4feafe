"""calsync's API in-process, its providers pointed at the sandbox over HTTPS, and people to connect calendars.

``world`` is one organization with Events on (Ann and Bob, members; Sue, support; Ada, admin), one with Events
off (Ivan), and another organization's admin (Gus). The app is driven through Starlette's TestClient (a cookie
jar, like a browser) at calsync's own base URL, so the provider's redirect to the registered callback URI can be
delivered to it unchanged; the sandbox is reached on its real TLS socket with its CA.

Time: calsync's clock is the real clock plus an offset the tests move (``world.clock.advance``), so a token can
be made due for refresh, or a state expire, without touching the shared sandbox's clock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from calsync.config import Settings
from calsync.core.connection import Provider
from calsync.core.model import Module, Person, Role
from calsync.providers.config import ProviderConfig
from calsync.providers.registry import Providers
from calsync.sandbox.server import RunningSandbox
from calsync.services import auth, organizations, people
from calsync.services.connections import CalendarContext
from calsync.services.runtime import Runtime, build_runtime
from calsync.store.db import Database
from calsync.sync.tokens import TokenManager
from calsync.web.app import create_app
from calsync.web.routes.oauth import BINDING_COOKIE

BASE_URL = "http://127.0.0.1:8000"  # the redirect URIs registered in the sandbox (tests/conftest.py) live here
PASSWORD = "correct horse battery"
CSRF_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
PROVIDERS = [pytest.param(Provider.GOOGLE, id="google"), pytest.param(Provider.MICROSOFT, id="microsoft")]


class OffsetClock:
    """Real time plus an offset: provider token expiries (set from real time) line up with what calsync sees."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


def build_test_runtime(
    settings: Settings, database: Database, config: ProviderConfig, clock: OffsetClock, http: httpx.Client | None = None
) -> Runtime:
    """build_runtime on the test database and clock; with ``http``, the REST adapters use that client (a transport
    substitution, e.g. one that edits the provider's answers)."""
    runtime = build_runtime(settings, database=database, clock=clock, providers=config)
    if http is None:
        return runtime
    runtime.providers.close()
    registry = Providers(config, http=http)
    tokens = TokenManager(database, runtime.cipher, registry, runtime.service.now)
    calendar = CalendarContext(runtime.service, runtime.cipher, registry, tokens, settings.effective_base_url)
    return dataclasses.replace(runtime, providers=registry, tokens=tokens, calendar=calendar)


@dataclasses.dataclass
class World:
    runtime: Runtime
    app: Any
    clock: OffsetClock
    sandbox: RunningSandbox
    people: dict[str, Person]
    api_tokens: dict[str, str]
    clients: list[TestClient]

    @property
    def cc(self) -> CalendarContext:
        return self.runtime.calendar

    def browser(self) -> TestClient:
        """A fresh 'browser': its own cookie jar, talking to calsync at its public base URL."""
        client = TestClient(self.app, base_url=BASE_URL, follow_redirects=False)
        client.__enter__()
        self.clients.append(client)
        return client

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_tokens[who]}"}

    def emulator(self, provider: Provider) -> Any:
        return getattr(self.sandbox.sandbox, provider.value)

    def faults(self, provider: Provider) -> Any:
        return self.sandbox.sandbox.faults.plan(provider.value)

    def sandbox_http(self) -> httpx.Client:
        return httpx.Client(verify=self.runtime.providers.config.tls.ssl_context(), trust_env=False)

    # ---- the OAuth dance ------------------------------------------------------------------------------------
    def start(self, browser: TestClient, who: str, provider: Provider) -> str:
        """POST /me/calendar/connect with ``who``'s API token in ``browser``: the authorization URL."""
        r = browser.post("/api/v1/me/calendar/connect", json={"provider": provider.value}, headers=self.h(who))
        assert r.status_code == 200, r.text
        assert browser.cookies.get(BINDING_COOKIE), "the binding cookie was not set"
        return str(r.json()["authorization_url"])

    def authorize(self, authorization_url: str) -> str:
        """Open the authorization URL at the sandbox (auto-consent): the redirect back to calsync's callback."""
        with self.sandbox_http() as http:
            r = http.get(authorization_url)
        assert r.status_code in (302, 303), r.text[:300]
        location = r.headers["location"]
        assert location.startswith(f"{BASE_URL}/oauth/"), location
        return str(location)

    def connect(self, who: str, provider: Provider, browser: TestClient | None = None) -> TestClient:
        """The whole flow through the API and the callback; returns the browser used."""
        browser = browser or self.browser()
        callback = self.authorize(self.start(browser, who, provider))
        r = browser.get(callback)
        assert r.status_code == 303, r.text
        return browser

    def sign_in(self, browser: TestClient, who: str) -> None:
        r = browser.post("/api/v1/session", json={"email": self.people[who].email, "password": PASSWORD})
        assert r.status_code == 200, r.text

    def press_connect(self, browser: TestClient, provider: Provider | str, query: str = "") -> httpx.Response:
        """Press Connect on Profile → Calendar: the form POST with the page's CSRF token (what a browser sends)."""
        page = browser.get("/profile/calendar")
        assert page.status_code == 200, page.text[:300]
        token = CSRF_TOKEN.search(page.text)
        assert token, "Profile → Calendar has no CSRF token"
        name = provider.value if isinstance(provider, Provider) else provider
        return browser.post(f"/connect/{name}{query}", data={"csrf_token": token.group(1)})

    def status(self, who: str, browser: TestClient | None = None) -> dict[str, Any]:
        client = browser or self.browser()
        r = client.get("/api/v1/me/calendar", headers=self.h(who))
        assert r.status_code == 200, r.text
        return dict(r.json())

    # ---- what the sandbox issued ------------------------------------------------------------------------------
    def issued_tokens(self) -> set[str]:
        """Every access and refresh token the sandbox has handed out (what its token responses carried)."""
        out: set[str] = set()
        for emulator in (self.sandbox.sandbox.google, self.sandbox.sandbox.microsoft):
            with emulator.state.lock:
                out |= set(emulator.state.access_tokens) | set(emulator.state.refresh_tokens)
        return out


def query_of(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def clock() -> OffsetClock:
    return OffsetClock()


@pytest.fixture
def world(
    settings: Settings,
    database: Database,
    provider_config: ProviderConfig,
    sandbox: RunningSandbox,
    clock: OffsetClock,
) -> Iterator[World]:
    runtime = build_test_runtime(settings, database, provider_config, clock)
    ctx = runtime.service
    acme = organizations.create_organization(ctx, "Acme", frozenset({Module.EVENTS}))
    initech = organizations.create_organization(ctx, "Initech", frozenset())
    globex = organizations.create_organization(ctx, "Globex", frozenset({Module.EVENTS}))
    spec = {
        "ann": (acme.id, "ann@acme.test", Role.MEMBER, PASSWORD),
        "bob": (acme.id, "bob@acme.test", Role.MEMBER, PASSWORD),
        "sue": (acme.id, "sue@acme.test", Role.SUPPORT, None),
        "ada": (acme.id, "ada@acme.test", Role.ADMIN, None),
        "ivan": (initech.id, "ivan@initech.test", Role.MEMBER, None),
        "gus": (globex.id, "gus@globex.test", Role.ADMIN, None),
    }
    found: dict[str, Person] = {}
    api_tokens: dict[str, str] = {}
    for key, (org_id, email, role, password) in spec.items():
        found[key] = people.register(
            ctx,
            org_id,
            people.NewPerson(email=email, name=key.title(), timezone="Europe/Berlin", role=role, password=password),
        )
        api_tokens[key] = auth.issue_token_unchecked(ctx, found[key].id, "test").secret
    app = create_app(settings, runtime=runtime)
    w = World(runtime, app, clock, sandbox, found, api_tokens, [])
    yield w
    for client in w.clients:
        client.__exit__(None, None, None)
    runtime.close()


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest) -> Provider:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def count_provider_requests(world: World) -> Callable[[Provider], Callable[[], int]]:
    """Arm a sentinel at the sandbox: a one-shot fault matching every request to the provider's API and token
    endpoints, but so many that it never runs out. Returns a reader of how many requests reached it since."""

    def arm(provider: Provider) -> Callable[[], int]:
        big = 10**9
        plan = world.faults(provider)
        plan.fail_next(418, count=big)
        shot = plan.one_shots[-1]
        return lambda: big - shot.count

    return arm
