"""Push notifications end to end: channels opened, answers arrive in seconds, forged ones do nothing, and when
every notification is dropped the poll still brings the change."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from calsync.config import Settings
from calsync.core.model import RsvpStatus
from calsync.store.connections import ConnectionRepository
from tests.engine.conftest import World
from tests.engine.live import listening_socket, serving, url_of, wait_for, working

A, T = RsvpStatus.ACCEPTED, RsvpStatus.TENTATIVE


@pytest.fixture
def webhook_socket() -> Iterator[socket.socket]:
    """The port calsync's webhooks are served on, held from before the settings name it until the test ends."""
    with listening_socket() as sock:
        yield sock


@pytest.fixture
def settings(data_dir: Path, webhook_socket: socket.socket) -> Settings:
    return Settings(
        data_dir=data_dir, push_notifications=True, webhook_base_url=url_of(webhook_socket), poll_interval=3600
    )


@pytest.fixture
def live(world: World, webhook_socket: socket.socket) -> Iterator[World]:
    with serving(world.runtime, webhook_socket), working(world.runtime):
        yield world


def _connection(world: World, email: str):  # noqa: ANN202
    with world.runtime.db.session(write=False) as s:
        return ConnectionRepository(s).active_for_person(world.person(email).person_id)


def test_answer_in_the_calendar_arrives_by_notification(live: World) -> None:
    """With a channel open, a calendar answer reaches the platform without waiting for the (hour-long) poll."""
    world = live
    world.connect("ann@example.com")
    ev = world.event()
    world.rsvp("ann@example.com", ev, A)
    wait_for(lambda: world.entries("ann@example.com"), what="the entry")
    wait_for(lambda: (c := _connection(world, "ann@example.com")) and c.channel_id, what="the push channel")
    world.answer_in_calendar("ann@example.com", world.entries("ann@example.com")[0], T)
    wait_for(lambda: world.my_rsvp("ann@example.com", ev)[0] is T, what="the answer to come back")
    assert world.my_rsvp("ann@example.com", ev)[1] == world.provider.value


def test_forged_notifications_change_nothing(live: World) -> None:
    """A wrong channel token / clientState or an unknown channel is ignored: no marking, no provider call."""
    world = live
    world.connect("ann@example.com")
    wait_for(
        lambda: (c := _connection(world, "ann@example.com")) and c.channel_id and not c.lease_owner,
        what="the push channel, and the round that opened it to finish",
    )
    before = _connection(world, "ann@example.com")
    assert before is not None
    base = f"{world.runtime.settings.effective_webhook_base_url}/webhooks"
    with httpx.Client() as http:
        if world.provider.value == "google":
            for channel, token in ((before.channel_id, "wrong"), ("unknown-channel", "x"), (before.channel_id, None)):
                headers = {"X-Goog-Channel-ID": channel or "", "X-Goog-Resource-State": "exists"}
                if token:
                    headers["X-Goog-Channel-Token"] = token
                assert http.post(f"{base}/google", headers=headers).status_code == 200
        else:
            bad = [
                {"subscriptionId": before.channel_id, "clientState": "wrong", "changeType": "updated"},
                {"subscriptionId": "unknown", "clientState": "x", "changeType": "updated"},
            ]
            assert http.post(f"{base}/microsoft", json={"value": bad}).status_code == 202
            assert http.post(f"{base}/microsoft", content=b"{not json").status_code == 400
            assert http.post(f"{base}/microsoft", content=b"x" * 1_000_001).status_code == 413
    after = _connection(world, "ann@example.com")
    assert after is not None and after.work_seq == before.work_seq and after.due_at == before.due_at


def test_graph_validation_handshake_echoes_the_token(runtime) -> None:  # noqa: ANN001
    """The webhook echoes ``validationToken`` as text/plain (Graph's subscription handshake)."""
    from fastapi.testclient import TestClient

    from calsync.web.app import create_app

    r = TestClient(create_app(runtime.settings, runtime=runtime)).post("/webhooks/microsoft?validationToken=abc%20def")
    assert r.status_code == 200 and r.text == "abc def" and r.headers["content-type"].startswith("text/plain")


def test_dropped_notifications_are_caught_by_polling(world: World, data_dir: Path) -> None:
    """Every notification dropped: the answer still arrives, at the next poll."""
    world.connect("ann@example.com")
    ev = world.event()
    world.rsvp("ann@example.com", ev, A)
    world.sync()
    getattr(world.sandbox.sandbox.faults, world.provider.value).notification_drop_rate = 1.0
    world.answer_in_calendar("ann@example.com", world.entries("ann@example.com")[0], T)
    world.sync()  # nothing is due: no notification came, and the poll is not due yet
    assert world.my_rsvp("ann@example.com", ev)[0] is A
    # the poll interval passes
    world.time_passes("ann@example.com", next_poll_at=world.ctx.now(), due_at=world.ctx.now())
    world.sync()
    assert world.my_rsvp("ann@example.com", ev)[0] is T
