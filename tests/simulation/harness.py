"""The process-wide part of the simulation: one sandbox, one event loop, one migrated SQLite template.

Built once per process and reused by every seed (a seed resets the sandbox and copies the template):

- each seed gets a new sandbox (a provider world with its own clock, which a seed moves forward); one HTTPS
  server on a loopback socket forwards to the current one.
- the sandbox is served over HTTPS on a loopback socket only for what must use one: the OAuth libraries
  (google-auth, MSAL) speak ``requests`` over a real socket (docs/sandbox.md). Every REST call goes in-process
  through :class:`~tests.simulation.transport.SimTransport`.
- push notifications the sandbox sends land in :class:`NotificationInbox` (its notification transport) instead of
  an HTTP server; the seed decides which are delivered, dropped, duplicated or held back and delivered later.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from calsync.core.connection import Provider
from calsync.providers.config import ClientCredentials, ProviderConfig
from calsync.sandbox.app import Sandbox
from calsync.sandbox.server import RunningSandbox, start_in_thread
from calsync.store.migrate import upgrade
from tests.simulation.transport import EventLoopThread, SimTransport

GOOGLE_CLIENT = ClientCredentials("calsync-sim.apps.googleusercontent.com", "google-sim-secret")
MICROSOFT_CLIENT = ClientCredentials("0b1c5a8e-4f7d-4c1e-9a57-5e1d0c0f5a11", "microsoft-sim-secret")
BASE_URL = "http://127.0.0.1:8000"
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


class _Asgi:
    """An ASGI 3 app object around a coroutine function (uvicorn tells ASGI 3 apps by their ``__call__``)."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.fn(scope, receive, send)


class Harness:
    """Everything a process builds once for all its seeds."""

    def __init__(self, root: Path | None = None) -> None:
        shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        # in memory where the machine has it: a seed's SQLite file never needs to reach a disk
        self._tmp = None if root is not None else tempfile.TemporaryDirectory(prefix="calsync-sim-", dir=shm)
        self.root = root if root is not None else Path(self._tmp.name)  # type: ignore[union-attr]
        self.data_dir = self.root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.inbox = NotificationInbox()
        self.loop = EventLoopThread()
        self.sandbox = self._fresh_sandbox(0)
        front = Sandbox()  # serves the endpoint map; every request goes to the current seed's sandbox
        front.app = _Asgi(self._dispatch)  # type: ignore[assignment]
        self.running: RunningSandbox = start_in_thread(front, self.root / "sandbox")
        self.transport = SimTransport(self._dispatch, self.loop, self.graph_event_alias)
        self.browser = httpx.Client(verify=str(self.running.tls.ca_cert), trust_env=False)
        """The person's browser for the consent step (keep-alive: one TLS handshake per process)."""
        self.provider_config = ProviderConfig.from_sandbox_map(self.running.endpoints, GOOGLE_CLIENT, MICROSOFT_CLIENT)
        self.template = self.root / "template.db"
        upgrade(f"sqlite:///{self.template}")

    def _fresh_sandbox(self, seed: int) -> Sandbox:
        sandbox = Sandbox(auto_consent=True, seed=seed, notification_transport=self.inbox)
        sandbox.notifier.bind_loop(self.loop.loop)
        return sandbox

    async def _dispatch(self, scope: Any, receive: Any, send: Any) -> None:
        """The ASGI app on the socket and in-process: the current seed's sandbox (lifespan answered here)."""
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
        self.running.stop()
        self.loop.loop.call_soon_threadsafe(self.loop.loop.stop)
        if self._tmp is not None:
            self._tmp.cleanup()
