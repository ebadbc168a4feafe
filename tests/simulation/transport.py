"""calsync's HTTP traffic to the sandbox, in-process and with faults decided by the seed.

Every REST call the adapters make goes through one ``httpx.Client`` (``build_runtime(http=...)``). Its transport,
:class:`SimTransport`, hands the request straight to the sandbox's ASGI app on an event loop in this process (no
socket, no TLS: about 0.3 ms a request) and injects the faults of the current phase:

- ``429`` and ``503`` with ``Retry-After: 0`` and ``500`` / ``502``, rendered by the sandbox's own error renderers
  (the provider's envelope, provider-facts §1.7 and §3.8), before the provider sees the request;
- a timeout before the request reaches the provider (``httpx.ConnectTimeout``: nothing happened there);
- a **lost answer**: the provider acted, then the connection dropped (``httpx.ReadError``);
- a **killed round**: the provider acted, then the worker "dies" (:class:`WorkerKilled`), so the round's lease is
  never released and must expire before another worker takes the connection.

Decisions are deterministic per *request content*, not per arrival order: each is drawn from a generator seeded
with (seed, phase, the request's canonical form, how many identical requests came before). The engine writes a
round's entries on 4 threads at once, so arrival order varies between runs; the entries a request is about do not:
its identity is its method, path and the entry keys its body names (keys, Google event ids and Graph transaction
ids derive from the installation id, which the simulation fixes). Graph's
random event ids are replaced by the calsync key the sandbox holds for them, and opaque cursors (sync tokens,
delta links, page tokens) and clock-derived parameters are masked.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import threading
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx
import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict

from calsync.sandbox.google.errors import render_api_fault
from calsync.sandbox.microsoft.errors import render_error as render_graph_fault

T = TypeVar("T")

ENTRY_KEY = re.compile(r"cs1\.[0-9a-f]+\.[0-9]+\.[0-9]+")
"""calsync's entry keys (core.entry.entry_key): what a write is about, whatever the content and the date."""
KEPT_QUERY = frozenset({"iCalUID", "privateExtendedProperty", "$filter", "showDeleted"})
"""Query parameters whose values identify what a request is about; every other value is masked (cursors, times)."""


class WorkerKilled(RuntimeError):
    """The worker process died after the provider acted and before calsync recorded the answer."""


@dataclass
class FaultRates:
    """Per-request fault probabilities for one phase of a seed (all zero: a healthy provider)."""

    throttle: float = 0.0
    """429 with Retry-After: 0 (provider-facts §1.8 rateLimitExceeded, §3.7 Graph throttling)."""
    unavailable: float = 0.0
    """503 with Retry-After: 0."""
    server_error: float = 0.0
    """500 or 502 without Retry-After (the engine backs off on its own schedule)."""
    timeout: float = 0.0
    """The request times out before reaching the provider."""
    lost_answer: float = 0.0
    """Writes only: the provider acted, the answer never arrived."""
    kill: float = 0.0
    """Writes only: the provider acted, the worker died before recording it."""

    def any(self) -> bool:
        return any((self.throttle, self.unavailable, self.server_error, self.timeout, self.lost_answer, self.kill))


@dataclass
class FaultLog:
    """What the transport injected, for the seed's report."""

    counts: Counter[str] = field(default_factory=Counter)
    requests: int = 0


class EventLoopThread:
    """One asyncio loop in a daemon thread: the sandbox's ASGI app runs here for every simulated request."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sim-sandbox-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


class SimTransport(httpx.BaseTransport):
    """In-process transport to the sandbox with seed-determined faults (see the module docstring)."""

    def __init__(
        self,
        app: Any,
        loop: EventLoopThread,
        canonical_event: Callable[[str], str],
    ) -> None:
        self.app = InProcess(app, loop)
        self.canonical_event = canonical_event
        self.seed = 0
        self.phase = "setup"
        self.rates = FaultRates()
        self.log = FaultLog()
        self.in_round = False
        """Set while a worker round runs: only a worker can be killed; elsewhere (a web request calling the
        provider) the same fault is a lost answer."""
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def reset(self, seed: int) -> None:
        with self._lock:
            self.seed, self.phase, self.rates = seed, "setup", FaultRates()
            self.log = FaultLog()
            self._seen.clear()

    def set_phase(self, phase: str, rates: FaultRates) -> None:
        with self._lock:
            self.phase, self.rates = phase, rates

    # ---- the request's identity ------------------------------------------------------------------------------
    def canonical(self, request: httpx.Request) -> str:
        parts = urlsplit(str(request.url))
        segments = parts.path.split("/")
        for i, seg in enumerate(segments[:-1]):
            nxt = segments[i + 1]
            if seg == "calendars" and nxt not in ("", "primary"):
                segments[i + 1] = "{cal}"
            elif seg == "events" and nxt not in ("", "import", "delta"):
                segments[i + 1] = self.canonical_event(nxt)
        query = sorted((k, v if k in KEPT_QUERY else "*") for k, v in parse_qsl(parts.query, keep_blank_values=True))
        keys: list[str] = []
        if request.method in ("POST", "PATCH", "PUT") and "/events" in parts.path:
            keys = sorted(set(ENTRY_KEY.findall(request.content.decode("utf-8", "replace"))))
        return f"{request.method} {'/'.join(segments)} {query} {keys}"

    def _draw(self, canonical: str) -> random.Random:
        with self._lock:
            self._seen[canonical] += 1
            nth = self._seen[canonical]
            material = f"{self.seed}|{self.phase}|{canonical}|{nth}".encode()
        return random.Random(int.from_bytes(hashlib.blake2b(material, digest_size=8).digest(), "big"))

    # ---- httpx ------------------------------------------------------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        rates = self.rates
        with self._lock:
            self.log.requests += 1
        if not rates.any():
            return self._forward(request)
        rnd = self._draw(self.canonical(request))
        roll = rnd.random()
        graph = request.url.path.startswith("/graph/")
        write = request.method in ("POST", "PATCH", "PUT", "DELETE")
        edges = [
            ("429", rates.throttle),
            ("503", rates.unavailable),
            ("5xx", rates.server_error),
            ("timeout", rates.timeout),
            ("lost", rates.lost_answer if write else 0.0),
            ("kill", rates.kill if write else 0.0),
        ]
        fault = None
        for name, p in edges:
            if roll < p:
                fault = name
                break
            roll -= p
        if fault is None:
            return self._forward(request)
        if fault == "kill" and not self.in_round:
            fault = "lost"
        with self._lock:
            self.log.counts[fault] += 1
        if fault in ("429", "503", "5xx"):
            status = {"429": 429, "503": 503}.get(fault) or rnd.choice((500, 502))
            retry_after = 0 if status in (429, 503) else None
            renderer = render_graph_fault if graph else render_api_fault
            body, headers = renderer(status, retry_after)
            return httpx.Response(status, headers=headers, content=body, request=request)
        if fault == "timeout":
            raise httpx.ConnectTimeout("simulated: the provider did not answer in time", request=request)
        self._forward(request)  # the provider acts ...
        if fault == "lost":
            raise httpx.ReadError("simulated: connection reset after the provider acted", request=request)
        raise WorkerKilled(f"simulated: the worker died after {request.method} {request.url.path}")

    def _forward(self, request: httpx.Request) -> httpx.Response:
        return self.app.handle_request(request)


class InProcess(httpx.BaseTransport):
    """A synchronous httpx transport to an ASGI app running on :class:`EventLoopThread` (no socket, no TLS)."""

    def __init__(self, app: Any, loop: EventLoopThread) -> None:
        self.asgi = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        self.loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self.asgi.handle_async_request(request)
            chunks = [chunk async for chunk in response.stream]  # type: ignore[union-attr]
            return response.status_code, response.headers.raw, b"".join(chunks)

        status, raw, body = self.loop.run(call())
        headers = [(k, v) for k, v in raw if k.lower() not in (b"content-length", b"transfer-encoding")]
        return httpx.Response(status, headers=headers, content=body, request=request)


class RequestsAdapter(requests.adapters.BaseAdapter):
    """The same in-process path for ``requests`` (google-auth, requests-oauthlib and MSAL speak it): the OAuth
    token exchanges and refreshes reach the sandbox without a socket, so no keep-alive connection can be closed
    by the server under a reused request (the ``RemoteProtocolError`` that failed random seeds)."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        super().__init__()
        self.transport = transport

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # noqa: ARG002
        body = request.body.encode() if isinstance(request.body, str) else (request.body or b"")
        out = self.transport.handle_request(
            httpx.Request(str(request.method), str(request.url), headers=dict(request.headers), content=body)
        )
        response = requests.Response()
        response.status_code = out.status_code
        response.headers = CaseInsensitiveDict(out.headers.items())
        response._content = out.content
        response.url = str(request.url)
        response.request = request
        response.reason = out.reason_phrase
        response.encoding = out.encoding
        return response

    def close(self) -> None:
        pass
