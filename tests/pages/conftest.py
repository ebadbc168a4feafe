"""The pages in-process: the whole app over httpx (Starlette's TestClient) on SQLite and PostgreSQL.

``site`` holds the demo organization (``seed_demo``: an admin, an organizer, two members, support, five events
with RSVPs) and a second organization, Globex, with its own organizer and event, so tests can show role checks
and that another organization's objects are 404. Browsers sign in through the real sign-in form.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from calsync.config import Settings
from calsync.core.connection import Provider
from calsync.core.model import Event, Module, Person, Role
from calsync.services import auth, events, organizations, people
from calsync.services.context import ServiceContext, system_clock
from calsync.services.demo import DEMO_PASSWORD, DemoSeed, seed_demo
from calsync.services.runtime import Runtime
from calsync.store.db import Database
from calsync.web.app import create_app
from tests.conftest import TEST_PASSWORDS

TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def csrf_of(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


class Browser:
    """One browser: a cookie jar on the app, plus helpers that submit forms with the page's CSRF token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, follow_redirects=False, **kw)

    def token(self, url: str = "/signin") -> str:
        return csrf_of(self.client.get(url).text)

    def post(
        self,
        url: str,
        data: dict[str, Any] | None = None,
        *,
        page: str = "/events",
        token: str | None = None,
        **kw: Any,
    ) -> Any:
        body = dict(data or {})
        body.setdefault("csrf_token", token if token is not None else self.token(page))
        return self.client.post(url, data=body, follow_redirects=False, **kw)

    def sign_in(self, email: str, password: str = DEMO_PASSWORD) -> Any:
        response = self.post("/signin", {"email": email, "password": password}, page="/signin")
        assert response.status_code == 303, response.text
        return response


@dataclass
class Site:
    app: Any
    ctx: ServiceContext
    demo: DemoSeed
    globex_organizer: Person
    globex_event: Event
    clients: list[TestClient]

    def person(self, role: Role) -> Person:
        return self.demo.login(role).person

    def browser(self, role: Role | None = None, *, client: str = "testclient") -> Browser:
        """A new browser, signed in as the demo person with ``role`` (or anonymous)."""
        tc = TestClient(self.app, client=(client, 50000))
        tc.__enter__()
        self.clients.append(tc)
        browser = Browser(tc)
        if role is not None:
            browser.sign_in(self.person(role).email)
        return browser

    def globex(self) -> Browser:
        browser = self.browser()
        browser.sign_in(self.globex_organizer.email)
        return browser

    def event(self, title: str) -> Event:
        return next(e for e in self.demo.events if e.title == title)


SiteSeed = tuple[DemoSeed, Person, Event]


def seed_site(ctx: ServiceContext) -> SiteSeed:
    """The demo organization, and Globex with its organizer Otto and one event."""
    clock = ctx.clock
    demo = seed_demo(ctx)
    globex = organizations.create_organization(ctx, "Globex", frozenset({Module.EVENTS}))
    otto = people.register(
        ctx,
        globex.id,
        people.NewPerson(
            email="otto@globex.test", name="Otto", timezone="UTC", role=Role.ORGANIZER, password=DEMO_PASSWORD
        ),
    )
    day = clock().replace(tzinfo=None, minute=0) + dt.timedelta(days=4)
    draft = events.EventDraft(
        title="Globex secret", timezone="UTC", start=day.replace(hour=9), end=day.replace(hour=10)
    )
    globex_event = events.create_event(ctx, auth.principal(otto), draft)
    return demo, otto, globex_event


def make_site(database: Database, clock: Any, data_dir: Any, seeded: SiteSeed | None = None, **app_kw: Any) -> Site:
    """The app (``app_kw`` goes to ``create_app``) on ``database``: ``seeded`` is already in it, or it is seeded now."""
    ctx = ServiceContext(db=database, clock=clock, passwords=TEST_PASSWORDS)
    demo, otto, globex_event = seeded or seed_site(ctx)
    app = create_app(Settings(data_dir=data_dir), database=database, clock=clock, **app_kw)
    return Site(app, ctx, demo, otto, globex_event, [])


@pytest.fixture
def site(seed_once: Any, database: Database, clock: Any, data_dir: Any) -> Iterator[Site]:
    """The site at ``T0``: the seed is made once per session and backend and copied into this test's database."""
    built = make_site(database, clock, data_dir, seed_once("site", seed_site))
    yield built
    for tc in built.clients:
        tc.__exit__(None, None, None)


@pytest.fixture
def live_site(database: Database, data_dir: Any, runtime: Runtime) -> Iterator[Site]:
    """The site on the runtime pointed at the sandbox (real clock, so the demo's events are upcoming now)."""
    built = make_site(database, system_clock, data_dir, runtime=runtime)
    yield built
    for tc in built.clients:
        tc.__exit__(None, None, None)


def connect_via_sandbox(browser: Browser, provider: Provider, tls: Any) -> Any:
    """The real connect flow: calsync's /connect page, the sandbox's consent (auto-consent), the callback."""
    start = browser.post(f"/connect/{provider.value}", page="/profile/calendar")
    assert start.status_code == 303, start.text[:300]
    with httpx.Client(verify=tls.ssl_context(), trust_env=False) as http:
        consent = http.get(start.headers["location"])
    assert consent.status_code in (302, 303), consent.text[:300]
    back = urlsplit(consent.headers["location"])
    done = browser.get(f"{back.path}?{back.query}")
    assert done.status_code == 303, done.text[:300]
    return done


def add_connection(
    ctx: ServiceContext,
    person: Person,
    *,
    status: Any = None,
    provider: Any = None,
    error_reason: str | None = None,
    **fields: Any,
) -> int:
    """A stored connection row for ``person`` (no tokens): the state a page must describe, set up directly in the
    store because reaching it for real needs the sync engine (tests of the real connect flow use the sandbox)."""
    from calsync.core.connection import ConnectionStatus, Provider
    from calsync.store.connections import ConnectionRepository

    now = ctx.now()
    with ctx.db.session() as session:
        record = ConnectionRepository(session).create(
            person_id=person.id,
            organization_id=person.organization_id,
            provider=provider or Provider.GOOGLE,
            account_email=person.email,
            account_id=f"acct-{person.id}",
            scopes="calendar",
            status=status or ConnectionStatus.CONNECTED,
            error_reason=error_reason,
            need_full_sync=False,
            connected_at=now,
            target_calendar_id="primary",
            target_calendar_name=person.email,
            dedicated_calendar=False,
            work_seq=0,
            **fields,
        )
        return record.id


def save_entry(ctx: ServiceContext, connection_id: int, event_id: int, **fields: Any) -> None:
    """The entry row the engine would have written for (connection, event)."""
    from calsync.store.entries import EntryRepository

    with ctx.db.session() as session:
        EntryRepository(session).save(connection_id, event_id, ctx.now(), **fields)
