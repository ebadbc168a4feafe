"""The process-wide part of the simulation: one sandbox, one event loop, one migrated SQLite template.

Built once per process and reused by every seed (a seed resets the sandbox and copies the template):

- each seed gets a new sandbox (a provider world with its own simulated clock, which only the seed moves).
- nothing goes over a socket: every REST call goes in-process through
  :class:`~tests.simulation.transport.SimTransport` (with the seed's faults); the OAuth libraries (google-auth,
  requests-oauthlib, MSAL speak ``requests``) and the person's browser reach the same ASGI app through
  :class:`~tests.simulation.transport.RequestsAdapter` and :class:`~tests.simulation.transport.InProcess`, set on
  :class:`calsync.providers.http.Tls` (the transport seam). There is no server, so no keep-alive connection a
  server could close under a reused request.
- push notifications the sandbox sends land in :class:`NotificationInbox` (its notification transport) instead of
  an HTTP server; the seed decides which are delivered, dropped, duplicated or held back and delivered later.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from calsync.core.connection import Provider
from calsync.providers.config import ClientCredentials, ProviderConfig
from calsync.providers.http import Tls
from calsync.sandbox import ids
from calsync.sandbox.app import Sandbox
from calsync.sandbox.clock import Clock
from calsync.store.db import Database
from calsync.store.migrate import upgrade
from calsync.store.models import Base
from tests.simulation.transport import EventLoopThread, InProcess, RequestsAdapter, SimTransport

GOOGLE_CLIENT = ClientCredentials("calsync-sim.apps.googleusercontent.com", "google-sim-secret")
MICROSOFT_CLIENT = ClientCredentials("0b1c5a8e-4f7d-4c1e-9a57-5e1d0c0f5a11", "microsoft-sim-secret")
BASE_URL = "http://127.0.0.1:8000"
SANDBOX_URL = "https://sandbox.sim.invalid"
"""Where the adapters believe the sandbox is; no name is resolved, every request is handed over in-process."""
EPOCH = 1_780_000_000.0
"""The simulated time every seed starts at (2026-05-28T20:26:40Z): a constant, so a replay next year is the same."""
WEBHOOK_BASE_URL = "https://calsync.sim.invalid"


@dataclass(frozen=True)
class Notification:
    """One push notification the sandbox tried to deliver to calsync's webhook."""

    provider: Provider
    headers: dict[str, str]
    payload: Any


@dataclass
class NotificationInbox(httpx.AsyncBaseTransport):
    """The sandbox's notification transport: answers Graph's validation handshake (echoing ``validationToken``
    as calsync's webhook does, provider-facts §3.6) and keeps every notification for the seed to deliver."""

    items: list[Notification] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("validationToken")
        if token is not None:
            return httpx.Response(200, text=token, headers={"content-type": "text/plain"})
        body = await request.aread()
        provider = Provider.GOOGLE if request.url.path.endswith("/google") else Provider.MICROSOFT
        payload = json.loads(body) if body else None
        with self.lock:
            self.items.append(Notification(provider, {k.lower(): v for k, v in request.headers.items()}, payload))
        return httpx.Response(200 if provider is Provider.GOOGLE else 202)

    def take(self) -> list[Notification]:
        with self.lock:
            out, self.items = self.items, []
        return out


POSTGRES_ENV = "CALSYNC_TEST_POSTGRES_URL"


class Harness:
    """Everything a process builds once for all its seeds.

    On SQLite a seed copies a migrated template file; with ``postgres_url`` (a server, such as
    ``CALSYNC_TEST_POSTGRES_URL``) the process creates its own database, migrates it once, and a seed empties it
    (``TRUNCATE ... RESTART IDENTITY``, so ids are the same as on a fresh file); the database is dropped on close.
    """

    def __init__(self, root: Path | None = None, *, postgres_url: str | None = None) -> None:
        shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        # in memory where the machine has it: a seed's SQLite file never needs to reach a disk
        self._tmp = None if root is not None else tempfile.TemporaryDirectory(prefix="calsync-sim-", dir=shm)
        self.root = root if root is not None else Path(self._tmp.name)  # type: ignore[union-attr]
        self.data_dir = self.root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.inbox = NotificationInbox()
        self.loop = EventLoopThread()
        self.sandbox = self._fresh_sandbox(0)
        self.transport = SimTransport(self._dispatch, self.loop, self.graph_event_alias)
        plain = InProcess(self._dispatch, self.loop)  # the same app, never faulty (OAuth and the browser)
        self.browser = httpx.Client(transport=plain, base_url=SANDBOX_URL)
        """The person's browser for the consent step."""
        endpoints = self.sandbox.endpoint_map(SANDBOX_URL, "")
        config = ProviderConfig.from_sandbox_map(endpoints, GOOGLE_CLIENT, MICROSOFT_CLIENT)
        tls = Tls(None, httpx_transport=plain, requests_adapter=RequestsAdapter(plain))
        self.provider_config = dataclasses.replace(config, tls=tls)
        self.template = self.root / "template.db"
        self._pg_admin: Engine | None = None
        self.postgres_url: str | None = None
        if postgres_url is None:
            upgrade(f"sqlite:///{self.template}")
        else:
            server = make_url(postgres_url).set(drivername="postgresql+psycopg")
            self._pg_admin = create_engine(server, isolation_level="AUTOCOMMIT")
            name = f"calsync_sim_{secrets.token_hex(6)}"
            with self._pg_admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            self.postgres_url = server.set(database=name).render_as_string(hide_password=False)
            upgrade(self.postgres_url)

    def seed_database(self, clock: Clock) -> Database:
        """An empty, migrated database for one seed, on ``clock`` (the change hook marks work due on it)."""
        if self.postgres_url is None:
            db_path = self.root / "seed.db"
            shutil.copy(self.template, db_path)
            for suffix in ("-wal", "-shm"):
                (self.root / f"seed.db{suffix}").unlink(missing_ok=True)
            return Database(f"sqlite:///{db_path}", clock=clock)
        db = Database(self.postgres_url, clock=clock)
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        return db

    def _fresh_sandbox(self, seed: int) -> Sandbox:
        ids.seed(seed)  # the sandbox's ids, codes and tokens replay with the seed
        sandbox = Sandbox(auto_consent=True, seed=seed, notification_transport=self.inbox, clock=Clock(start=EPOCH))
        sandbox.notifier.bind_loop(self.loop.loop)
        return sandbox

    async def _dispatch(self, scope: Any, receive: Any, send: Any) -> None:
        """The ASGI app every in-process transport calls: the current seed's sandbox (lifespan answered here)."""
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await self.sandbox.app(scope, receive, send)

    def reset_sandbox(self, seed: int) -> None:
        """A new sandbox for the seed (its own clock, state and seeded faults) with calsync's OAuth clients."""
        self.sandbox = sb = self._fresh_sandbox(seed)
        for provider in (Provider.GOOGLE, Provider.MICROSOFT):
            client = GOOGLE_CLIENT if provider is Provider.GOOGLE else MICROSOFT_CLIENT
            emulator = sb.google if provider is Provider.GOOGLE else sb.microsoft
            emulator.register_client(
                client.client_id, client.client_secret, [f"{BASE_URL}/oauth/{provider.value}/callback"]
            )
        self.inbox.take()
        self.transport.reset(seed)

    def graph_event_alias(self, event_id: str) -> str:
        """Graph event ids are random: name an event by the calsync key it carries (stable across runs)."""
        state = self.sandbox.microsoft.state
        with state.lock:
            for account in state.accounts.values():
                event = account.events.get(event_id)
                if event is not None:
                    key = next((v for v in event.extended.values() if v.startswith("cs1.")), None)
                    return f"key:{key}" if key else f"subject:{event.subject}"
        return event_id if len(event_id) < 40 else "{id}"

    def close(self) -> None:
        self.browser.close()
        ids.seed(None)  # other sandboxes in this process (a test session's) get unpredictable ids again
        if self._pg_admin is not None and self.postgres_url is not None:
            with self._pg_admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(self.postgres_url).database}" WITH (FORCE)'))
            self._pg_admin.dispose()
        self.loop.loop.call_soon_threadsafe(self.loop.loop.stop)
        if self._tmp is not None:
            self._tmp.cleanup()
