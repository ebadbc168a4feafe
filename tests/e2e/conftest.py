"""Browser tests: Chromium (Debian's, driven by Playwright) against calsync served by uvicorn on a real socket.

The app runs in a thread on a free port of 127.0.0.1 with its providers pointed at the sandbox (the shared
HTTPS sandbox of tests/conftest.py, auto-consent on), so "Connect Google Calendar" goes through calsync's real
/connect route, the sandbox's consent page and the real callback. The browser ignores certificate errors only
because the sandbox's CA is local. Screenshots go to tests/artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from calsync.config import Settings
from calsync.core.connection import Provider
from calsync.core.model import Role
from calsync.providers.config import ProviderConfig
from calsync.sandbox.server import RunningSandbox
from calsync.services.context import ServiceContext
from calsync.services.demo import DEMO_PASSWORD, DemoSeed, seed_demo
from calsync.services.runtime import build_runtime
from calsync.store.db import Database
from calsync.web.app import create_app
from tests import processes
from tests.conftest import GOOGLE_CLIENT, MICROSOFT_CLIENT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
START_TIMEOUT = 20.0

NO_CHROMIUM = (
    f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser tests "
    "(`playwright install` is not used)"
)
NO_PLAYWRIGHT = "the playwright package is not installed: pip install 'playwright>=1.45' into .venv"


@dataclass
class LiveServer:
    url: str
    demo: DemoSeed
    ctx: ServiceContext
    app: Any
    sandbox: RunningSandbox

    def email(self, role: Role) -> str:
        return self.demo.login(role).person.email


@pytest.fixture
def live_server(
    database: Database, data_dir: Path, provider_config: ProviderConfig, sandbox: RunningSandbox
) -> Iterator[LiveServer]:
    """calsync on a free port, seeded with the demo organization, its OAuth clients registered at the sandbox.

    No sync engine runs here: the page tests drive the connection's state by hand (see ``live_engine``)."""
    with _serve(database, data_dir, provider_config, sandbox, engine=False) as server:
        yield server


ENGINE_POLL_INTERVAL = 1.0
"""Seconds between pulls in the story tests: short, so "after a poll" is a bounded wait, not a long one."""


@pytest.fixture
def live_engine(
    database: Database, data_dir: Path, provider_config: ProviderConfig, sandbox: RunningSandbox
) -> Iterator[LiveServer]:
    """``live_server`` with the sync engine running: a worker thread beside the server, push notifications on
    (the webhook URL is the live server, so the sandbox's notifications reach it) and a one-second poll."""
    with _serve(database, data_dir, provider_config, sandbox, engine=True) as server:
        yield server


@contextmanager
def _serve(
    database: Database, data_dir: Path, provider_config: ProviderConfig, sandbox: RunningSandbox, *, engine: bool
) -> Iterator[LiveServer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    sb = sandbox.sandbox
    sb.google.register_client(GOOGLE_CLIENT.client_id, GOOGLE_CLIENT.client_secret, [f"{base}/oauth/google/callback"])
    sb.microsoft.register_client(
        MICROSOFT_CLIENT.client_id, MICROSOFT_CLIENT.client_secret, [f"{base}/oauth/microsoft/callback"]
    )
    if engine:
        settings = Settings(
            data_dir=data_dir, base_url=base, push_notifications=True, poll_interval=ENGINE_POLL_INTERVAL
        )
    else:
        settings = Settings(data_dir=data_dir, base_url=base)
    runtime = build_runtime(settings, database=database, providers=provider_config)
    demo = seed_demo(runtime.service)
    app = create_app(settings, runtime=runtime)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(trust_env=False) as http:
        while True:
            try:
                if http.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"calsync did not answer {base}/healthz within {START_TIMEOUT} s")
            time.sleep(0.05)
    stop = threading.Event()
    worker_thread: threading.Thread | None = None
    if engine:
        worker = runtime.worker(idle_sleep=0.02)
        worker_thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        worker_thread.start()
    try:
        yield LiveServer(base, demo, runtime.service, app, sandbox)
    finally:
        stop.set()
        if worker_thread is not None:
            worker_thread.join(timeout=30)
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        runtime.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, once per test module; the browser tests skip with the reason without it.

    Module scope, not session: Playwright's sync API keeps an asyncio loop running in the main thread while it is
    open, and later suites that schedule work on "the running loop" must not find it there."""
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api", reason=NO_PLAYWRIGHT)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser context (its own cookies) with a phone-friendly but roomy viewport."""
    context = chromium.new_context(ignore_https_errors=True, viewport={"width": 1000, "height": 900})
    context.set_default_timeout(15_000)
    p = context.new_page()
    yield p
    context.close()


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, server: LiveServer, role: Role) -> None:
    page.goto(f"{server.url}/signin")
    page.get_by_label("Email").fill(server.email(role))
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/events")


def provider_label(provider: Provider) -> str:
    return provider.label


def wait_until(check: Callable[[], Any], *, timeout: float = 30.0, what: str) -> Any:
    """Call ``check`` until it returns something truthy, at most ``timeout`` seconds; ``check`` usually reloads a
    page and looks at it, so each try is one round trip (:func:`tests.processes.wait_until`)."""
    return processes.wait_until(check, what, timeout=timeout, every=0.2)
