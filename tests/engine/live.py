"""calsync running for real: the web app on a socket (webhooks reachable by the sandbox) and a worker thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from calsync.services.runtime import Runtime
from calsync.web.app import create_app


@contextmanager
def listening_socket() -> Iterator[socket.socket]:
    """A socket bound to a free port of 127.0.0.1 and held until the block ends, so the port is known before the
    app serves on it (the webhook URL names it) and no other process or test worker can take it in between."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield sock
    finally:
        sock.close()


def url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


def wait_for(predicate: Callable[[], Any], *, timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until truthy, at most ``timeout`` seconds (a bound, not a sleep-and-hope)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@contextmanager
def serving(runtime: Runtime, sock: socket.socket) -> Iterator[str]:
    """Serve calsync's app for ``runtime`` on ``sock`` (from :func:`listening_socket`); yields the base URL."""
    app = create_app(runtime.settings, runtime=runtime)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=10, what="calsync to serve")
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def working(runtime: Runtime, **options: Any) -> Iterator[None]:
    """A worker loop in a background thread until the block ends."""
    worker = runtime.worker(idle_sleep=0.02, **options)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)
