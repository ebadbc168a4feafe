"""Two `calsync worker` processes on PostgreSQL, one killed with SIGKILL mid-run: no duplicate, no lost change."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from calsync.core.model import RsvpStatus
from calsync.sandbox.server import write_endpoint_map
from calsync.store.connections import ConnectionRepository
from calsync.store.entries import EntryRepository
from tests.conftest import GOOGLE_CLIENT, MICROSOFT_CLIENT
from tests.engine.conftest import World
from tests.engine.live import wait_for

A, D = RsvpStatus.ACCEPTED, RsvpStatus.DECLINED
PEOPLE = [f"p{i}@example.com" for i in range(8)]


def _worker(world: World, data_dir: Path, sandbox_map: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CALSYNC_DATABASE_URL": world.runtime.db.url,
        "CALSYNC_DATA_DIR": str(data_dir),  # the same token key file as this process
        "CALSYNC_SANDBOX_MAP": str(sandbox_map),
        "CALSYNC_GOOGLE_CLIENT_ID": GOOGLE_CLIENT.client_id,
        "CALSYNC_GOOGLE_CLIENT_SECRET": GOOGLE_CLIENT.client_secret,
        "CALSYNC_MICROSOFT_CLIENT_ID": MICROSOFT_CLIENT.client_id,
        "CALSYNC_MICROSOFT_CLIENT_SECRET": MICROSOFT_CLIENT.client_secret,
        "CALSYNC_PUSH_NOTIFICATIONS": "false",
        "CALSYNC_WORKER_CONCURRENCY": "4",
        "CALSYNC_LEASE_SECONDS": "2",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "calsync", "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _quiet(world: World) -> bool:
    """Nothing leased, nothing dirty, nothing due now."""
    now = world.ctx.now()
    with world.runtime.db.session(write=False) as s:
        repo, entries = ConnectionRepository(s), EntryRepository(s)
        for email in PEOPLE:
            conn = repo.active_for_person(world.person(email).person_id)
            if conn is None or conn.lease_owner or (conn.due_at and conn.due_at <= now):
                return False
            if entries.for_connection(conn.id, dirty_only=True):
                return False
    return True


def test_sigkill_one_of_two_workers(world: World, data_dir: Path, tmp_path: Path) -> None:
    """Worker A is killed while both work a backlog; B takes over A's leases; every calendar ends exactly right."""
    if world.runtime.db.dialect != "postgresql":
        pytest.skip("multi-process workers claim with FOR UPDATE SKIP LOCKED: this test runs on PostgreSQL")
    sandbox_map = write_endpoint_map(tmp_path, world.sandbox.endpoints)
    for email in PEOPLE:
        world.connect(email)
    events = [world.event(f"Event {i}") for i in range(5)]
    for email in PEOPLE:
        for ev in events:
            world.rsvp(email, ev, A)
    getattr(world.sandbox.sandbox.faults, world.provider.value).latency_ms = 40
    a = _worker(world, data_dir, sandbox_map)
    b = _worker(world, data_dir, sandbox_map)
    try:
        wait_for(lambda: sum(len(world.entries(e)) for e in PEOPLE) >= 8, timeout=60, what="some entries")
        a.send_signal(signal.SIGKILL)
        a.wait(timeout=10)
        for email in PEOPLE[:4]:  # changes keep coming after the kill
            world.rsvp(email, events[0], D)
        world.edit(events[1], title="Event 1 (moved)")
        expected = {
            email: sorted(
                ["Event 1 (moved)", "Event 2", "Event 3", "Event 4"] + ([] if email in PEOPLE[:4] else ["Event 0"])
            )
            for email in PEOPLE
        }
        wait_for(
            lambda: _quiet(world) and all(world.titles(e) == expected[e] for e in PEOPLE),
            timeout=120,
            what="every calendar to converge after the kill",
        )
        for email in PEOPLE:  # exactly one entry per event: no duplicates anywhere
            assert world.titles(email) == expected[email]
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
    assert b.returncode == 0, (b.stderr.read() if b.stderr else b"").decode()[-2000:]
