"""The push half of check (4) with real channels: calsync serves its webhooks on a socket so the sandbox can
validate Graph subscriptions (§3.6) and Google channels (§1.5) are opened; then the channel is reported open, and
once past its expiry (read at a later instant) reported expired with what it means for the person."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from calsync.config import Settings
from calsync.services.diagnose import Verdict
from tests.diagnose.conftest import record, run
from tests.engine.conftest import World
from tests.engine.live import listening_socket, serving, url_of

ANN = "ann@example.com"


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
def served(world: World, webhook_socket: socket.socket) -> Iterator[World]:
    with serving(world.runtime, webhook_socket):
        yield world


def test_open_channel_is_ok_and_an_expired_one_is_a_warning(served: World, webhook_socket: socket.socket) -> None:
    """A channel opened by the round is reported with its id and expiry; past that expiry, unrenewed, it is a
    warning saying calendar changes now wait for the poll."""
    world = served
    world.connect(ANN)
    world.sync()
    rec = record(world, ANN)
    assert rec.channel_id and rec.channel_expires_at
    push = run(world, ANN).check("push")
    assert push.verdict is Verdict.OK and rec.channel_id in push.finding
    assert push.facts["channel_expires_at"] == rec.channel_expires_at.isoformat()
    expired = run(world, ANN, at=rec.channel_expires_at + dt.timedelta(minutes=5)).check("push")
    assert expired.verdict is Verdict.WARNING and "expired" in expired.finding
    assert "arrive only with the poll (every 3600 s)" in expired.finding
    assert expired.next_step and f"{url_of(webhook_socket)}/webhooks" in expired.next_step
