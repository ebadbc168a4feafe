"""The stack every sync benchmark runs on: the sandbox over HTTPS with 100 ms added latency (in this process by
default; in its own process with ``stack(sandbox=SandboxProcess(...))``), calsync's runtime on SQLite (or
PostgreSQL) pointed at it, people connected through the real OAuth flow, and counters on the HTTP transport
calsync's adapters share (every Calendar / Graph request and its status).

Benchmarks substitute nothing of calsync's: they act through the services (``rsvps.answer``, ``events``), let the
real worker loop sync, and look at the sandbox's state the way a person looks at their calendar.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import os
import re
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn
from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.engine import make_url

from bench.sandbox_process import SandboxProcess
from calsync.config import Settings
from calsync.core.connection import Provider
from calsync.core.model import Principal, Role, RsvpStatus
from calsync.providers.config import ClientCredentials, ProviderConfig
from calsync.sandbox.app import Sandbox
from calsync.sandbox.server import RunningSandbox, start_in_thread, write_endpoint_map
from calsync.services import auth, connections, events, organizations, people, rsvps
from calsync.services.runtime import Runtime, build_runtime
from calsync.store.connections import ConnectionRepository
from calsync.store.db import Database
from calsync.store.migrate import upgrade
from calsync.web.app import create_app

DEFAULT_CONCURRENCY: int = Settings.model_fields["worker_concurrency"].default
"""calsync's default connections at once per worker (what a deployment runs unless it says otherwise)."""

LATENCY_MS = 100.0
"""The issue's condition for every sync benchmark: 100 ms added to each provider API request."""
GOOGLE_CLIENT = ClientCredentials("calsync-bench.apps.googleusercontent.com", "google-bench-secret")
MICROSOFT_CLIENT = ClientCredentials("5b0c6d2e-2f4c-4b59-9a55-0be4c4b0ce11", "microsoft-bench-secret")
POSTGRES_ENV = "CALSYNC_TEST_POSTGRES_URL"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], *, timeout: float, what: str, every: float = 0.02) -> Any:
    """Poll ``predicate`` until truthy, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@dataclasses.dataclass(frozen=True)
class Request:
    at: float
    method: str
    path: str
    status: int
    sent: float = 0.0
    """When the request left (monotonic); ``at`` is when its answer arrived."""
    thread: str = ""
    """The thread that sent it (a round's pull is sent from the round's own thread)."""
    parts: int = 1
    """Calls it carried: 1, or the parts of a batch (Google multipart, Graph ``$batch``)."""
    refused_parts: int = 0
    """Parts of a batch refused for quota (the batch itself answers 200 whatever its parts say)."""


_GOOGLE_PART_STATUS = re.compile(rb"^HTTP/1\.1 (\d{3})", re.MULTILINE)


def batch_statuses(response: httpx.Response) -> list[int] | None:
    """The parts' statuses of a batch answer (provider-facts §1.7, §3.7), or None for a single call."""
    path = response.request.url.path
    if "/batch/" not in path and not path.endswith("/$batch"):
        return None
    body = response.read()  # cached: the adapter reads the same bytes
    if path.endswith("/$batch"):
        try:
            return [int(r.get("status", 0)) for r in json.loads(body).get("responses", [])]
        except (ValueError, AttributeError):
            return []
    return [int(m) for m in _GOOGLE_PART_STATUS.findall(body)]


class Traffic:
    """Every provider API request calsync made (an httpx response hook on the adapters' shared client)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Request] = []

    @staticmethod
    def stamp(request: httpx.Request) -> None:
        request.extensions["bench_sent"] = time.monotonic()

    def hook(self, response: httpx.Response) -> None:
        req = response.request
        at = time.monotonic()
        sent = float(req.extensions.get("bench_sent", 0.0))
        parts = batch_statuses(response)
        refused = sum(1 for p in parts if p in (429, 403)) if parts is not None else 0
        with self.lock:
            self.requests.append(Request(at, req.method, req.url.path, response.status_code, sent,
                                         threading.current_thread().name, 1 if parts is None else len(parts), refused))

    def mark(self) -> int:
        with self.lock:
            return len(self.requests)

    def since(self, mark: int) -> list[Request]:
        with self.lock:
            return self.requests[mark:]

    @staticmethod
    def refused(requests: list[Request]) -> int:
        """Quota refusals: 429, and Google's usageLimits 403 (provider-facts §1.8 uses both), batch parts too."""
        return sum(1 for r in requests if r.status in (429, 403)) + sum(r.refused_parts for r in requests)


def postgres_server_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


class PostgresDatabase:
    """A throw-away database on the server named by CALSYNC_TEST_POSTGRES_URL (created here, dropped after)."""

    def __init__(self, server_url: str, prefix: str = "calsync_bench") -> None:
        self.server = make_url(server_url).set(drivername="postgresql+psycopg")
        self.admin = create_engine(self.server, isolation_level="AUTOCOMMIT")
        self.name = f"{prefix}_{secrets.token_hex(5)}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = self.server.set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


@dataclasses.dataclass
class Stack:
    """The sandbox, calsync's runtime on it, one organization; helpers to act and to look.

    ``sandbox`` is the in-process server (its Python API is :attr:`sb`) or ``None`` when ``process`` (the sandbox
    in its own process, reached through its admin API) is used instead; the helpers below work with either.
    """

    sandbox: RunningSandbox | None
    process: SandboxProcess | None
    endpoints: dict[str, Any]
    ca_bundle: str
    runtime: Runtime
    traffic: Traffic
    org_id: int
    organizer: Principal
    data_dir: Path
    database_url: str
    port: int
    sandbox_map: Path
    people: dict[str, Principal] = dataclasses.field(default_factory=dict)

    @property
    def sb(self) -> Sandbox:
        if self.sandbox is None:
            raise RuntimeError("the sandbox runs in its own process here: use stack.process (its admin API)")
        return self.sandbox.sandbox

    def emulator(self, provider: Provider) -> Any:
        return getattr(self.sb, provider.value)

    def set_latency(self, ms: float) -> None:
        if self.process is not None:
            self.process.set_latency(ms)
            return
        self.sb.faults.google.latency_ms = ms
        self.sb.faults.microsoft.latency_ms = ms

    def fresh_quota_windows(self) -> None:
        """Setup traffic must not count against the measurement's one-minute quota windows.

        Out of process, the admin API has no "empty the windows" call, so the sandbox's clock is moved past one
        window (61 s): the same effect on the sliding windows (provider-facts §1.8), and tokens (1 h) and sync
        tokens are unaffected at this scale. Quota limits go back to Google's defaults in both cases.
        """
        if self.process is not None:
            self.process.advance_clock(61.0)
            self.process.google_quotas(per_user=600, per_project=10_000)
            return
        self.sb.google.quotas.reset()

    # ---- the platform ----------------------------------------------------------------------------------------
    def person(self, email: str) -> Principal:
        if email not in self.people:
            p = people.register(
                self.runtime.service, self.org_id, people.NewPerson(email, email.split("@")[0].title(), "Europe/Berlin")
            )
            self.people[email] = auth.principal(p)
        return self.people[email]

    def event(self, title: str, *, days: int = 3, hour: int = 18, minute: int = 0) -> int:
        day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).date()
        start = dt.datetime.combine(day, dt.time(hour, minute))
        draft = events.EventDraft(
            title=title, timezone="Europe/Berlin", start=start, end=start + dt.timedelta(hours=2),
            location="Hall A", description="Bring friends",
        )
        return events.create_event(self.runtime.service, self.organizer, draft).id

    def rsvp(self, email: str, event_id: int, status: RsvpStatus) -> None:
        rsvps.answer(self.runtime.service, self.person(email), event_id, status)

    def platform_rsvps(self, event_ids: list[int]) -> dict[tuple[int, int], str]:
        """(event, person) -> status, read straight from the store (what the platform shows)."""
        with self.runtime.db.session(write=False) as s:
            query = text("SELECT event_id, person_id, status FROM rsvps WHERE event_id IN :ids")
            rows = s.execute(query.bindparams(bindparam("ids", expanding=True)), {"ids": event_ids}).all()
        return {(int(r[0]), int(r[1])): str(r[2]) for r in rows}

    # ---- connecting --------------------------------------------------------------------------------------------
    def connect(self, email: str, provider: Provider) -> None:
        """The person connects through the real flow (authorize redirect with auto-consent, code exchange)."""
        actor = self.person(email)
        binding = secrets.token_hex(16)
        url = connections.start_connect(self.runtime.calendar, actor, provider, binding)
        with httpx.Client(verify=self.ca_bundle, trust_env=False) as http:
            r = http.get(url)
        q = parse_qs(urlsplit(r.headers["location"]).query)
        connections.complete_connect(
            self.runtime.calendar, provider, state=q["state"][0], code=q["code"][0], error=None,
            browser_binding=binding, session_person_id=actor.person_id,
        )

    def connect_many(self, emails: list[str], provider: Provider, *, threads: int = 8) -> None:
        for email in emails:  # registering is a write each: do it before the parallel part
            self.person(email)
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda e: self.connect(e, provider), emails))

    def connection_id(self, email: str) -> int:
        with self.runtime.db.session(write=False) as s:
            conn = ConnectionRepository(s).active_for_person(self.person(email).person_id)
        if conn is None:
            raise LookupError(f"{email} has no active connection")
        return conn.id

    def settle(self, *, max_rounds: int = 100_000) -> int:
        """Run rounds in this thread until nothing is due; returns the provider calls they made."""
        return sum(r.calls for r in self.runtime.worker(concurrency=32).drain(max_rounds=max_rounds))

    # ---- the calendar, as the person sees it -----------------------------------------------------------------
    def entries(self, email: str, provider: Provider) -> list[dict[str, Any]]:
        """calsync's live entries in the person's primary calendar, read from the sandbox's state."""
        if self.process is not None:  # the admin API's view of the same state
            items = self.process.events(provider.value, email)
            if provider is Provider.GOOGLE:
                return [i for i in items if i.get("status") != "cancelled"
                        and (i.get("extendedProperties") or {}).get("private", {}).get("calsyncKey")]
            # every calendar of the mailbox (the admin listing does not say which one is the default; the
            # benchmarks that run out of process use only the default one)
            return [i for i in items if not i.get("isCancelled")
                    and "calsyncKey" in str(i.get("singleValueExtendedProperties"))]
        emulator = self.emulator(provider)
        if provider is Provider.GOOGLE:
            try:
                items = emulator.events(email, "primary")
            except Exception:  # no calendar yet
                return []
            return [
                i for i in items
                if i.get("status") != "cancelled"
                and (i.get("extendedProperties") or {}).get("private", {}).get("calsyncKey")
            ]
        default = emulator.state.require_account(email).default_calendar.id
        return [
            i for i in emulator.events(email)
            if i.get("calendarId") == default and not i.get("isCancelled")
            and "calsyncKey" in str(i.get("singleValueExtendedProperties"))
        ]

    def answer_in_calendar(self, email: str, entry: dict[str, Any], provider: Provider, status: RsvpStatus) -> None:
        """The person answers in their calendar: Google's Yes/Maybe/No on the copy; Outlook's Show as (the
        mapping calsync documents for Graph, where the person is the organizer and cannot respond)."""
        if provider is Provider.GOOGLE:
            self.sb.google.respond(email, entry["id"], status.value, calendar_id="primary")
        else:
            show_as = {RsvpStatus.ACCEPTED: "busy", RsvpStatus.TENTATIVE: "tentative", RsvpStatus.DECLINED: "free"}
            self.sb.microsoft.set_show_as(email, entry["id"], show_as[status])

    def entry_rows(self) -> int:
        """Entries the store records as written (a provider id, nothing left to do)."""
        with self.runtime.db.session(write=False) as s:
            return int(s.scalar(text(
                "SELECT count(*) FROM entries WHERE provider_id IS NOT NULL AND dirty = :f AND create_pending = :f"
            ), {"f": False}) or 0)


@contextmanager
def stack(
    *,
    database_url: str | None = None,
    push: bool = False,
    poll_interval: float = 3600.0,
    worker_concurrency: int = DEFAULT_CONCURRENCY,
    sandbox: SandboxProcess | None = None,
) -> Iterator[Stack]:
    """Start everything (latency 0 while setting up; call ``set_latency(LATENCY_MS)`` before measuring).

    With ``sandbox`` (a running :class:`SandboxProcess`) the emulators stay in that process: it is reset to empty
    (faults and quotas included) and calsync's OAuth clients are registered there; otherwise a sandbox is served
    in this process for the duration of the block.
    """
    with ExitStack() as exits:
        tmp = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="calsync-bench-")))
        data_dir = tmp / "data"
        data_dir.mkdir()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        running: RunningSandbox | None = None
        if sandbox is None:
            running = start_in_thread(Sandbox(seed=7), tmp / "sandbox")
            exits.callback(running.stop)
            sb = running.sandbox
            sb.context.auto_consent = True
            sb.google.register_client(
                GOOGLE_CLIENT.client_id, GOOGLE_CLIENT.client_secret, [f"{base}/oauth/google/callback"]
            )
            sb.microsoft.register_client(
                MICROSOFT_CLIENT.client_id, MICROSOFT_CLIENT.client_secret, [f"{base}/oauth/microsoft/callback"]
            )
            endpoints = running.endpoints
        else:
            sandbox.reset()
            sandbox.register_clients((GOOGLE_CLIENT.client_id, GOOGLE_CLIENT.client_secret),
                                     (MICROSOFT_CLIENT.client_id, MICROSOFT_CLIENT.client_secret), base)
            endpoints = sandbox.endpoints
        if database_url is None:
            database_url = f"sqlite:///{data_dir / 'calsync.db'}"
        upgrade(database_url)
        settings = Settings(
            data_dir=data_dir, database_url=database_url, base_url=base, push_notifications=push,
            poll_interval=poll_interval, worker_concurrency=worker_concurrency,
        )
        config = ProviderConfig.from_sandbox_map(endpoints, GOOGLE_CLIENT, MICROSOFT_CLIENT)
        traffic = Traffic()
        http = config.tls.httpx_client()
        http.event_hooks["request"].append(traffic.stamp)
        http.event_hooks["response"].append(traffic.hook)
        database = Database(database_url)
        exits.callback(database.dispose)
        runtime = build_runtime(settings, database=database, providers=config, http=http)
        exits.callback(runtime.close)
        org = organizations.create_organization(runtime.service, "Bench Events")
        organizer = people.register(
            runtime.service, org.id,
            people.NewPerson("olga@bench.example", "Olga Organizer", "Europe/Berlin", Role.ORGANIZER),
        )
        (tmp / "sandbox").mkdir(exist_ok=True)
        sandbox_map = write_endpoint_map(tmp / "sandbox", endpoints)
        yield Stack(running, sandbox, endpoints, str(endpoints["ca_bundle"]), runtime, traffic, org.id,
                    auth.principal(organizer), data_dir, database_url, port, sandbox_map)


@contextmanager
def serving(s: Stack) -> Iterator[str]:
    """calsync's web app on its port (the webhooks the sandbox posts notifications to)."""
    app = create_app(s.runtime.settings, runtime=s.runtime)
    server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=s.port, log_level="warning", lifespan="off", timeout_graceful_shutdown=1,
        access_log=False,
    ))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=15, what="calsync to serve")
    try:
        yield f"http://127.0.0.1:{s.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def working(s: Stack, **overrides: Any) -> Iterator[None]:
    """The production worker loop (default idle sleep, concurrency and lease) in a thread until the block ends."""
    worker = s.runtime.worker(**overrides)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True, name="bench-worker")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=60)
