"""The bad-input catalogue (issue 7) where it meets the engine and the providers: each case is refused clearly or
skipped with a logged reason, and nothing stored is lost or corrupted. docs/bad-input.md lists every case."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from calsync.config import Settings
from calsync.core.connection import Provider
from calsync.core.model import RsvpStatus
from calsync.errors import InvalidInput
from calsync.providers.config import ProviderConfig
from calsync.services import events
from calsync.services.runtime import Runtime, build_runtime
from calsync.store.connections import ConnectionRepository
from calsync.store.db import Database
from calsync.store.entries import EntryRepository
from calsync.web.app import create_app
from tests.engine.conftest import World

A = RsvpStatus.ACCEPTED
WORLD_TEXT = "Встреча · 会議 · اجتماع · ミーティング 🎉 Ünïcödé <b>&amp;</b>"


def _create_path(world: World) -> str:
    return "/events/import" if world.provider is Provider.GOOGLE else "/events"


def test_non_latin_text_reaches_the_calendar_unchanged(world: World) -> None:
    """Cyrillic, CJK, Arabic, emoji and markup-like text is stored and written to the calendar as given."""
    world.connect("ann@example.com")
    ev = world.event(WORLD_TEXT)
    world.rsvp("ann@example.com", ev, A)
    world.sync()
    assert world.titles("ann@example.com") == [WORLD_TEXT]


def test_longest_title_syncs_and_a_longer_one_is_refused(world: World) -> None:
    """A 300-character title (the limit) reaches the calendar; 301 is refused with the limit in the message."""
    world.connect("ann@example.com")
    ev = world.event("x" * 300)
    world.rsvp("ann@example.com", ev, A)
    world.sync()
    assert world.titles("ann@example.com") == ["x" * 300]
    with pytest.raises(InvalidInput, match="300"):
        world.edit(ev, title="y" * 301)
    assert events.get_event(world.ctx, world.organizer, ev).title == "x" * 300


class StrippingTransport(httpx.BaseTransport):
    """Lets the provider act, then removes ``id`` from the first create's answer (an answer missing a field)."""

    def __init__(self, inner: httpx.BaseTransport, create_path: str) -> None:
        self.inner, self.create_path, self.tripped = inner, create_path, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not self.tripped and request.method == "POST" and request.url.path.endswith(self.create_path):
            self.tripped = True
            body = json.loads(response.read())
            body.pop("id", None)
            return httpx.Response(response.status_code, json=body, request=request)
        return response


@pytest.fixture
def runtime_with(settings: Settings, database: Database, provider_config: ProviderConfig) -> Iterator:  # noqa: ANN001
    made: list[Runtime] = []

    def make(transport: httpx.BaseTransport, timeout: float = 20.0) -> Runtime:
        rt = build_runtime(
            settings,
            database=database,
            providers=provider_config,
            http=httpx.Client(transport=transport, timeout=timeout),
        )
        made.append(rt)
        return rt

    yield make
    for rt in made:
        rt.close()


def test_provider_answer_missing_a_field_is_recorded_then_healed(world: World, runtime_with) -> None:  # noqa: ANN001
    """A create answered without ``id``: the entry records a clear error, the connection stays connected, and the
    next round finds the entry by its key instead of creating a second one."""
    inner = httpx.HTTPTransport(verify=world.runtime.providers.config.tls.ssl_context())
    world.runtime = runtime_with(StrippingTransport(inner, _create_path(world)))
    world.connect("ann@example.com")
    ev = world.event()
    world.rsvp("ann@example.com", ev, A)
    reports = world.sync()
    assert any("cannot read" in e for r in reports for e in r.errors)
    with world.runtime.db.session(write=False) as s:
        conn = ConnectionRepository(s).active_for_person(world.person("ann@example.com").person_id)
        assert conn is not None and conn.status.value == "connected"
        entry = EntryRepository(s).get(conn.id, ev)
        assert entry is not None and entry.last_error and entry.synced.create_pending
    world.rsvp("ann@example.com", ev, RsvpStatus.TENTATIVE)  # any later change: the lost create is looked up
    world.sync()
    assert world.titles("ann@example.com") == ["Launch party"]


def test_a_provider_that_hangs_is_a_timeout_then_a_backoff(world: World, runtime_with) -> None:  # noqa: ANN001
    """Every request hangs: the round times out, backs off, the connection stays connected; healed, it catches up."""
    world.runtime = runtime_with(
        httpx.HTTPTransport(verify=world.runtime.providers.config.tls.ssl_context()), timeout=0.5
    )
    world.connect("ann@example.com")
    world.sync()
    ev = world.event()
    world.rsvp("ann@example.com", ev, A)
    plan = getattr(world.sandbox.sandbox.faults, world.provider.value)
    plan.timeout_rate, plan.hang_seconds = 1.0, 2.0
    reports = world.sync()
    assert reports[-1].outcome == "transient" and reports[-1].next_due is not None
    plan.reset()
    with world.runtime.db.session() as s:
        conn = ConnectionRepository(s).active_for_person(world.person("ann@example.com").person_id)
        assert conn is not None and conn.status.value == "connected"
        ConnectionRepository(s).mark_due(conn.id, world.ctx.now())
    world.sync()
    assert world.titles("ann@example.com") == ["Launch party"]


def test_malformed_and_oversized_webhook_bodies(runtime: Runtime) -> None:
    """Oversized bodies get 413, non-JSON 400, JSON of the wrong shape is ignored (202) and changes nothing."""
    client = TestClient(create_app(runtime.settings, runtime=runtime))
    big = b"x" * 1_000_001
    assert client.post("/webhooks/google", content=big).status_code == 413
    assert client.post("/webhooks/microsoft", content=big).status_code == 413
    assert client.post("/webhooks/microsoft", content=b"\xff\xfe not json").status_code == 400
    for payload in ([1, 2], {"value": "nope"}, {"value": [None, 3, {"subscriptionId": 7}]}, None):
        assert client.post("/webhooks/microsoft", json=payload).status_code == 202
    assert client.post("/webhooks/google", headers={"X-Goog-Resource-State": "exists"}).status_code == 200
