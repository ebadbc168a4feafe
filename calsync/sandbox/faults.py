"""Faults on demand: latency, error rates, one-shot failures, hangs and notification mishaps.

Each provider has one :class:`FaultPlan`. Its API routes are wrapped in :class:`FaultMiddleware`, which consults
the plan before the provider sees a request, and answers failures in that provider's own error envelope (the
provider supplies ``render_error``). Notification faults (drop, duplicate, delay) are applied by
:mod:`calsync.sandbox.delivery`. Randomness is seeded, so a simulation run can be replayed.

Plans are changed from tests (``sandbox.faults.google.error_rate = 0.1``, ``fail_next(...)``) or over the
admin API (``PUT /admin/faults/{provider}``). A test can also hook a request (``on_request(...)``): something the
world does (a person pressing a button, another change in the calendar) happens exactly while a given request is
in flight, before the provider handles it or after its answer is ready but before the client has it, so an
interleaving of the client's work with the world's is deterministic instead of a race won by sleeping.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ErrorRenderer = Callable[[int, int | None], tuple[bytes, dict[str, str]]]
"""(status, retry_after seconds or None) -> (body, headers) in the provider's own error format."""


@dataclass
class OneShot:
    """Fail the next ``count`` requests whose method and path match, with ``status``."""

    status: int
    count: int = 1
    method: str | None = None
    path_contains: str | None = None
    retry_after: int | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self.path_contains and self.path_contains not in path)


@dataclass
class Hook:
    """Run ``action`` (in a worker thread: it may call the sandbox itself) when the next matching request arrives:
    before the provider sees it, or with ``after_answer`` once the provider's answer is ready but not yet sent.

    ``fired`` counts runs; an exception from ``action`` is kept in ``errors`` (the request goes on regardless), so
    the test that set the hook can assert that it ran and worked."""

    action: Callable[[], None]
    method: str | None = None
    path_contains: str | None = None
    query_contains: str | None = None
    after_answer: bool = False
    count: int = 1
    fired: int = 0
    errors: list[BaseException] = field(default_factory=list)

    def matches(self, method: str, path: str, query: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path_contains and self.path_contains not in path:
            return False
        return not (self.query_contains and self.query_contains not in query)

    async def run(self) -> None:
        try:
            await asyncio.to_thread(self.action)
        except Exception as exc:  # kept for the test to see; the request carries on
            self.errors.append(exc)
        finally:
            self.fired += 1


@dataclass
class FaultPlan:
    """What goes wrong, and how often, for one provider. All rates are fractions in [0, 1]."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (503,)
    retry_after: int = 1
    timeout_rate: float = 0.0
    hang_seconds: float = 30.0
    notification_drop_rate: float = 0.0
    notification_duplicate_rate: float = 0.0
    notification_delay_ms: float = 0.0
    notification_delay_jitter_ms: float = 0.0
    one_shots: list[OneShot] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)

    _SETTABLE = (
        "latency_ms", "jitter_ms", "error_rate", "error_statuses", "retry_after", "timeout_rate",
        "hang_seconds", "notification_drop_rate", "notification_duplicate_rate", "notification_delay_ms",
        "notification_delay_jitter_ms",
    )

    def fail_next(
        self,
        status: int,
        *,
        count: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``count`` matching requests fail with ``status`` (deterministic, for tests)."""
        self.one_shots.append(OneShot(status, count, method, path_contains, retry_after))

    def on_request(
        self,
        action: Callable[[], None],
        *,
        method: str | None = None,
        path_contains: str | None = None,
        query_contains: str | None = None,
        after_answer: bool = False,
        count: int = 1,
    ) -> Hook:
        """Run ``action`` while the next ``count`` matching requests are in flight (tests only; see :class:`Hook`)."""
        hook = Hook(action, method, path_contains, query_contains, after_answer, count)
        self.hooks.append(hook)
        return hook

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update (from the admin API); unknown keys are refused."""
        unknown = set(changes) - set(self._SETTABLE) - {"one_shots"}
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        for key, value in changes.items():
            if key == "one_shots":
                self.one_shots = [OneShot(**item) for item in value]
            elif key == "error_statuses":
                self.error_statuses = tuple(int(v) for v in value)
            else:
                setattr(self, key, type(getattr(self, key))(value))

    def reset(self) -> None:
        """Back to a healthy provider."""
        for f in fields(self):
            if f.name in self._SETTABLE:
                setattr(self, f.name, f.default)
        self.one_shots = []
        self.hooks = []

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name) for name in self._SETTABLE}
        out["error_statuses"] = list(self.error_statuses)
        out["one_shots"] = [vars(s).copy() for s in self.one_shots]
        return out


class Faults:
    """The fault plans of both providers, and the seeded random source they draw from."""

    def __init__(self, seed: int | None = None) -> None:
        self.google = FaultPlan()
        self.microsoft = FaultPlan()
        self.random = random.Random(seed)
        self.lock = threading.Lock()

    def plan(self, provider: str) -> FaultPlan:
        if provider == "google":
            return self.google
        if provider == "microsoft":
            return self.microsoft
        raise KeyError(provider)

    def reset(self) -> None:
        self.google.reset()
        self.microsoft.reset()

    def take_one_shot(self, plan: FaultPlan, method: str, path: str) -> OneShot | None:
        """Consume one matching one-shot failure, if any (thread-safe)."""
        with self.lock:
            for shot in plan.one_shots:
                if shot.matches(method, path):
                    shot.count -= 1
                    if shot.count <= 0:
                        plan.one_shots.remove(shot)
                    return shot
        return None

    def take_hook(self, plan: FaultPlan, method: str, path: str, query: str) -> Hook | None:
        """Consume one use of the first matching hook, if any (thread-safe: a hook fires once per use)."""
        with self.lock:
            for hook in plan.hooks:
                if hook.count > 0 and hook.matches(method, path, query):
                    hook.count -= 1
                    if hook.count <= 0:
                        plan.hooks.remove(hook)
                    return hook
        return None

    def delay_seconds(self, plan: FaultPlan) -> float:
        jitter = self.random.uniform(0, plan.jitter_ms) if plan.jitter_ms else 0.0
        return max(0.0, plan.latency_ms + jitter) / 1000.0


class FaultMiddleware:
    """ASGI middleware that applies a provider's :class:`FaultPlan` before its API handles a request."""

    def __init__(self, app: ASGIApp, *, faults: Faults, provider: str, render_error: ErrorRenderer) -> None:
        self.app = app
        self.faults = faults
        self.provider = provider
        self.render_error = render_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        plan = self.faults.plan(self.provider)
        delay = self.faults.delay_seconds(plan)
        if delay:
            await asyncio.sleep(delay)
        if plan.hooks:
            query = scope.get("query_string", b"").decode("latin-1")
            hook = self.faults.take_hook(plan, scope["method"], scope["path"], query)
            if hook is not None and not hook.after_answer:
                await hook.run()
            elif hook is not None:
                send = _before_answer(send, hook)
        shot = self.faults.take_one_shot(plan, scope["method"], scope["path"]) if plan.one_shots else None
        if shot is not None:
            await self._error(send, shot.status, shot.retry_after)
            return
        rnd = self.faults.random
        if plan.timeout_rate and rnd.random() < plan.timeout_rate:
            await asyncio.sleep(plan.hang_seconds)
            await self._error(send, 504, None)
            return
        if plan.error_rate and rnd.random() < plan.error_rate:
            status = rnd.choice(plan.error_statuses)
            await self._error(send, status, plan.retry_after if status in (429, 503) else None)
            return
        await self.app(scope, receive, send)

    async def _error(self, send: Send, status: int, retry_after: int | None) -> None:
        body, headers = self.render_error(status, retry_after)
        raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        raw_headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body})


def _before_answer(send: Send, hook: Hook) -> Send:
    """``send`` that runs ``hook`` once, just before the response starts: the provider has answered, the client
    does not have the answer yet."""

    pending = [hook]

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start" and pending:
            await pending.pop().run()
        await send(message)

    return wrapped
