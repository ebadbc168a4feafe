"""The sandbox's faults against the engine: 429 / 5xx / 412 / expired sync state / lost answers and a worker that
dies mid-create. Exactly one entry survives every one of them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from calsync.config import Settings
from calsync.core.connection import Provider
from calsync.core.model import RsvpStatus
from calsync.providers.config import ProviderConfig
from calsync.services.runtime import Runtime, build_runtime
from calsync.store.connections import ConnectionRepository
from calsync.store.db import Database
from tests.engine.conftest import World

A, T = RsvpStatus.ACCEPTED, RsvpStatus.TENTATIVE


def _faults(world: World):  # noqa: ANN202
    return getattr(world.sandbox.sandbox.faults, world.provider.value)


def _create_path(world: World) -> str:
    return "/events/import" if world.provider is Provider.GOOGLE else "/events"


def test_429_and_503_are_retried_within_the_round(world: World) -> None:
    """A throttled and a failing create are retried (honouring Retry-After) and end in one entry."""
    world.connect("ann@example.com")
    ev = world.event()
    world.rsvp("ann@example.com", ev, A)
    _faults(world).fail_next(429, method="POST", path_contains=_create_path(world), retry_after=0)
    _faults(world).fail_next(503, method="POST", path_contains=_create_path(world))
    reports = world.sync()
    assert sum(r.throttled for r in reports) >= 1
    assert world.titles("ann@example.com") == ["Launch party"]


def test_persistent_outage_backs_off_then_recovers(world: World) -> None:
    """When the provider keeps failing, the round gives up with a backoff, stays connected, then catches up."""
    world.connect("ann@example.com")
    world.sync()
    ev = world.event()
    world.rsvp("ann@example.com", ev, A)
    _faults(world).error_rate = 1.0
    _faults(world).error_statuses = (500,)
    reports = world.sync()
    assert reports and reports[-1].outcome == "transient" and reports[-1].next_due is not None
    assert reports[-1].next_due > world.ctx.now()
    with world.runtime.db.session(write=False) as s:
        conn = ConnectionRepository(s).active_for_person(world.person("ann@example.com").person_id)
        assert conn is not None and conn.status.value == "connected" and conn.attempts == 1
    _faults(world).reset()
    with world.runtime.db.session() as s:
        ConnectionRepository(s).mark_due(conn.id, world.ctx.now())
    world.sync()
    assert world.titles("ann@example.com") == ["Launch party"]


def test_stale_etag_412_is_replanned(world: World) -> None:
    """The person edits the entry (its etag moves); calsync's next update gets 412, re-reads, and succeeds."""
    world.connect("ann@example.com")
    ev = world.event()
    world.rsvp("ann@example.com", ev, A)
    world.sync()
    entry = world.entries("ann@example.com")[0]
    world.answer_in_calendar("ann@example.com", entry, A)  # same answer, but the etag moves
    world.edit(ev, title="Launch party (moved)")
    world.sync()
    assert world.titles("ann@example.com") == ["Launch party (moved)"]
    assert len(world.entries("ann@example.com")) == 1


def test_expired_sync_state_triggers_a_full_reconcile(world: World) -> None:
    """A 410 on the sync token / delta link turns the round into a full reconcile: nothing duplicated."""
    world.connect("ann@example.com")
    for title in ("A", "B"):
        world.rsvp("ann@example.com", world.event(title), A)
    world.sync()
    if world.provider is Provider.GOOGLE:
        world.emulator.expire_sync_tokens()
    else:
        world.emulator.expire_delta_tokens()
    world.time_passes("ann@example.com", next_poll_at=world.ctx.now(), due_at=world.ctx.now())
    reports = world.sync()
    assert any(r.full for r in reports)
    assert world.titles("ann@example.com") == ["A", "B"]


class LosingTransport(httpx.BaseTransport):
    """Forwards each request to the sandbox, but for the first matching one (a create by default): the provider
    acts, then the answer is lost (``mode="lost"``: a read error) or the worker dies before recording it
    (``mode="die"``)."""

    def __init__(self, inner: httpx.BaseTransport, path: str, mode: str, method: str = "POST") -> None:
        self.inner, self.path, self.mode, self.method, self.tripped = inner, path, mode, method, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        matches = self.path in request.url.path if self.method == "DELETE" else request.url.path.endswith(self.path)
        if not self.tripped and request.method == self.method and matches:
            self.tripped = True
            response.read()
            if self.mode == "lost":
                raise httpx.ReadError("connection reset after the provider answered", request=request)
            raise RuntimeError("the worker died between the provider's answer and calsync's commit")
        return response


@pytest.fixture(params=["lost", "die"])
def losing_runtime(
    request: pytest.FixtureRequest, settings: Settings, database: Database, provider_config: ProviderConfig
) -> Iterator[tuple[Runtime, LosingTransport]]:
    holder: dict[str, LosingTransport] = {}

    def make(path: str, method: str = "POST") -> tuple[Runtime, LosingTransport]:
        transport = LosingTransport(
            httpx.HTTPTransport(verify=provider_config.tls.ssl_context()), path, request.param, method
        )
        http = httpx.Client(transport=transport, timeout=20)
        holder["t"] = transport
        return build_runtime(settings, database=database, providers=provider_config, http=http), transport

    yield make  # type: ignore[misc]


def test_a_lost_answer_or_a_dead_worker_never_duplicates(world: World, losing_runtime) -> None:  # noqa: ANN001
    """The create reached the provider but calsync never recorded it: the retry or the next round finds the entry
    (Google import upserts by iCalUID; Graph refuses the reused transactionId, then the lookup adopts)."""
    runtime, transport = losing_runtime("/events/import" if world.provider is Provider.GOOGLE else "/events")
    world.runtime = runtime
    world.connect("ann@example.com")
    ev = world.event()
    world.rsvp("ann@example.com", ev, A)
    first = world.sync()
    assert transport.tripped
    with world.runtime.db.session() as s:  # a dead worker's connection is due again later: make it now
        conn = ConnectionRepository(s).active_for_person(world.person("ann@example.com").person_id)
        assert conn is not None
        ConnectionRepository(s).mark_due(conn.id, world.ctx.now())
    world.sync()
    assert world.titles("ann@example.com") == ["Launch party"], first
    world.rsvp("ann@example.com", ev, T)
    world.sync()
    assert len(world.entries("ann@example.com")) == 1
    runtime.close()


def test_refused_client_registration_does_not_break_the_persons_connection(world: World) -> None:
    """invalid_client at refresh is the operator's problem: the round backs off, the connection stays connected."""
    from tests.conftest import GOOGLE_CLIENT, MICROSOFT_CLIENT, redirect_uri

    world.connect("ann@example.com")
    client = GOOGLE_CLIENT if world.provider is Provider.GOOGLE else MICROSOFT_CLIENT
    world.emulator.register_client(client.client_id, "a-rotated-secret", [redirect_uri(world.provider)])
    conn_id = world.connection_id("ann@example.com")
    world.time_passes("ann@example.com", token_expires_at=world.ctx.now())
    reports = world.sync()
    assert reports and reports[-1].outcome == "transient"
    with world.runtime.db.session(write=False) as s:
        after = ConnectionRepository(s).get(conn_id)
        assert after is not None and after.status.value == "connected" and after.error_reason is None


def test_409_on_create_with_nothing_of_ours_behind_it_retries_with_a_new_generation(world: World) -> None:
    """A 409 whose id turns out not to be calsync's entry: a fresh iCalUID / transactionId, and one entry."""
    world.connect("ann@example.com")
    ev = world.event()
    world.rsvp("ann@example.com", ev, A)
    _faults(world).fail_next(409, method="POST", path_contains=_create_path(world))
    world.sync()
    assert world.titles("ann@example.com") == ["Launch party"]
    world.edit(ev, title="Launch party v2")
    world.sync()
    assert world.titles("ann@example.com") == ["Launch party v2"]


def test_a_move_whose_delete_answer_is_lost_still_moves_the_entry(world: World, losing_runtime) -> None:  # noqa: ANN001
    """The person picks another calendar; the delete in the old one reaches the provider but its answer is lost
    (retried within the round: the retry's 404 is calsync's own delete) or the worker dies (the next round's
    write-ahead says so). Either way that 404 is not the person's deletion: the entry moves (seed 1489)."""
    from calsync.services import connections

    runtime, transport = losing_runtime("/events/", method="DELETE")
    world.runtime = runtime
    world.connect("ann@example.com")
    ev = world.event()
    world.rsvp("ann@example.com", ev, A)
    world.sync()
    conn = connections.set_target(world.runtime.calendar, world.person("ann@example.com"), create_dedicated=True)
    world.sync()
    assert transport.tripped
    with world.runtime.db.session() as s:  # a dead worker's connection is due again later: make it now
        record = ConnectionRepository(s).active_for_person(world.person("ann@example.com").person_id)
        assert record is not None
        ConnectionRepository(s).mark_due(record.id, world.ctx.now())
    world.sync()
    assert world.entries("ann@example.com") == []
    moved = world.entries_in("ann@example.com", conn.target_calendar_id)
    assert len(moved) == 1
    runtime.close()
