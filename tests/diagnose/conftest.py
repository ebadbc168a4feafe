"""Diagnose tests reuse the engine tests' World (an organization, people connected to the sandbox through the real
OAuth flow) and add what support needs: running ``diagnose`` on it, and the ``calsync`` CLI pointed at it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from calsync.core.connection import Provider
from calsync.sandbox.server import write_endpoint_map
from calsync.services.context import ServiceContext
from calsync.services.diagnose import DiagnoseOptions, Diagnosis, diagnose
from calsync.store.connections import ConnectionRecord, ConnectionRepository
from tests.conftest import GOOGLE_CLIENT, MICROSOFT_CLIENT
from tests.engine import conftest as engine
from tests.engine.conftest import World

settings = engine.settings
"""Push notifications off unless a test module overrides it (no webhook server listens)."""
world = engine.world
"""The engine tests' World, on each provider."""


def options(world: World, **overrides: Any) -> DiagnoseOptions:
    """The installation's settings as the CLI passes them (push off unless a test says otherwise)."""
    s = world.runtime.settings
    values: dict[str, Any] = dict(
        push_enabled=s.push_notifications,
        poll_interval=s.poll_interval,
        lease_seconds=s.lease_seconds,
        webhook_base_url=s.effective_webhook_base_url,
    )
    values.update(overrides)
    return DiagnoseOptions(**values)


def run(
    world: World, email: str, event_id: int | None = None, *, at: dt.datetime | None = None, **opts: Any
) -> Diagnosis:
    """``diagnose`` for ``email`` on the world's runtime; ``at`` reads the clock as that instant (time travel)."""
    cc = world.runtime.calendar
    if at is not None:
        cc = dataclasses.replace(cc, service=ServiceContext(db=world.runtime.db, clock=lambda: at))
    return diagnose(cc, options(world, **opts), email, event_id)


def record(world: World, email: str) -> ConnectionRecord:
    with world.runtime.db.session(write=False) as s:
        found = ConnectionRepository(s).latest_for_person(world.person(email).person_id)
    assert found is not None
    return found


def stored_tokens(world: World, email: str) -> list[str]:
    """The person's access and refresh tokens as they are stored now, opened (for scanning output)."""
    r = record(world, email)
    sealed = [t for t in (r.access_token_enc, r.refresh_token_enc) if t]
    return [world.runtime.cipher.decrypt(t) for t in sealed]


def cli_env(world: World) -> dict[str, str]:
    """CALSYNC_* for the ``calsync`` CLI so it opens the world's database, key file and sandbox."""
    s = world.runtime.settings
    endpoint_map = write_endpoint_map(s.data_dir, world.sandbox.endpoints)
    return {
        "CALSYNC_DATA_DIR": str(s.data_dir),
        "CALSYNC_DATABASE_URL": world.runtime.db.url,
        "CALSYNC_SANDBOX_MAP": str(endpoint_map),
        "CALSYNC_GOOGLE_CLIENT_ID": GOOGLE_CLIENT.client_id,
        "CALSYNC_GOOGLE_CLIENT_SECRET": GOOGLE_CLIENT.client_secret,
        "CALSYNC_MICROSOFT_CLIENT_ID": MICROSOFT_CLIENT.client_id,
        "CALSYNC_MICROSOFT_CLIENT_SECRET": MICROSOFT_CLIENT.client_secret,
        "CALSYNC_PUSH_NOTIFICATIONS": "false",
        "COLUMNS": "200",  # Rich folds cells to the terminal's width; a wide one keeps phrases whole for asserts
    }


def is_google(world: World) -> bool:
    return world.provider is Provider.GOOGLE


def poll(world: World) -> None:
    """Make every connection's poll due now and run the rounds (what the poll interval does in production)."""
    with world.runtime.db.session() as s:
        repo = ConnectionRepository(s)
        for actor in world.people.values():
            rec = repo.active_for_person(actor.person_id)
            if rec is not None:
                repo.mark_due(rec.id, world.ctx.now(), pull=True)
    world.sync()
