"""Outbound notifications from the sandbox to a subscriber (Google watch channels, Graph subscriptions).

Real providers deliver notifications from their own servers, late, sometimes twice, sometimes never
(Google: "Notifications are not 100% reliable"; Graph retries for up to 4 h). :class:`Notifier` sends them in
the background on the sandbox's event loop, applying the provider's notification faults (drop, duplicate,
delay). A validation handshake (Graph's ``validationToken``) is a synchronous :meth:`Notifier.request` and is
never dropped. The HTTP transport is injectable so tests can deliver straight into an in-process ASGI app.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import httpx

from calsync.sandbox.faults import Faults

log = logging.getLogger(__name__)


@dataclass
class Delivery:
    """One notification attempt, kept for tests and the admin API."""

    provider: str
    url: str
    status: int | None
    error: str | None
    dropped: bool = False


class Notifier:
    """Delivers notifications in the background with the providers' notification faults applied."""

    def __init__(self, faults: Faults, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.faults = faults
        self.transport = transport
        self.deliveries: list[Delivery] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._lock = threading.Lock()
        self.timeout = 10.0

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the loop the sandbox serves on, so notifications raised from other threads land there."""
        self._loop = loop

    def _client(self) -> httpx.AsyncClient:
        # Verification off: the subscriber is a local calsync; real providers require a public CA, which a
        # local test server cannot have. Plain http to loopback is gated by the providers' own checks.
        return httpx.AsyncClient(transport=self.transport, verify=False, timeout=self.timeout)  # noqa: S501

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request now and return the response (handshakes; never subject to faults)."""
        async with self._client() as client:
            return await client.request(method, url, **kwargs)

    def notify(self, provider: str, url: str, *, headers: dict[str, str], content: bytes = b"") -> None:
        """Queue one notification POST, callable from any thread; faults decide its fate."""
        plan = self.faults.plan(provider)
        rnd = self.faults.random
        with self.faults.lock:
            dropped = bool(plan.notification_drop_rate) and rnd.random() < plan.notification_drop_rate
            copies = 2 if plan.notification_duplicate_rate and rnd.random() < plan.notification_duplicate_rate else 1
            delays = [
                (plan.notification_delay_ms + rnd.uniform(0, plan.notification_delay_jitter_ms)) / 1000.0
                for _ in range(copies)
            ]
        if dropped:
            with self._lock:
                self.deliveries.append(Delivery(provider, url, None, None, dropped=True))
            return
        for delay in delays:
            self._schedule(self._send(provider, url, headers, content, delay))

    def _schedule(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` on the loop the sandbox serves on. Another loop running in the calling thread (a test
        harness's, Playwright's) is never used: it may never run the task. Without a server (the ASGI app used
        in-process) the caller's own loop is the sandbox's loop."""
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        bound = self._loop if self._loop is not None and self._loop.is_running() else None
        task: asyncio.Future[Any]
        if bound is not None and running is bound:
            task = bound.create_task(coro)
        elif bound is not None:
            task = asyncio.run_coroutine_threadsafe(coro, bound)  # type: ignore[assignment]
        elif running is not None:
            self._loop = running
            task = running.create_task(coro)
        else:
            coro.close()
            log.warning("sandbox notification not sent: no running event loop")
            return
        with self._lock:
            self._tasks.add(task)
        task.add_done_callback(self._discard)

    def _discard(self, task: asyncio.Future[Any]) -> None:
        with self._lock:
            self._tasks.discard(task)

    async def _send(self, provider: str, url: str, headers: dict[str, str], content: bytes, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        status: int | None = None
        error: str | None = None
        try:
            async with self._client() as client:
                response = await client.post(url, headers=headers, content=content)
                status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.deliveries.append(Delivery(provider, url, status, error))

    @property
    def pending(self) -> int:
        """Notifications queued or in flight."""
        with self._lock:
            return len(self._tasks)
