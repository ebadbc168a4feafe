"""Serving the sandbox over HTTPS: blocking for ``calsync sandbox``, in a thread for tests and the demo."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from calsync.sandbox.app import Sandbox
from calsync.sandbox.tls import TlsFiles, ensure_tls


@dataclass
class RunningSandbox:
    """A sandbox served on a real socket; ``endpoints`` is the map clients are pointed at."""

    sandbox: Sandbox
    base_url: str
    tls: TlsFiles
    endpoints: dict[str, Any]
    server: uvicorn.Server
    thread: threading.Thread | None

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)


def _config(sandbox: Sandbox, tls: TlsFiles, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        sandbox.app,
        host=host,
        port=port,
        ssl_certfile=str(tls.server_cert),
        ssl_keyfile=str(tls.server_key),
        log_level="warning",
        lifespan="on",
        access_log=False,
        timeout_graceful_shutdown=1,
    )


def _bound_port(server: uvicorn.Server) -> int:
    for srv in server.servers:
        for sock in srv.sockets:
            return int(sock.getsockname()[1])
    raise RuntimeError("the sandbox server has no listening socket")


def write_endpoint_map(data_dir: Path, endpoints: dict[str, Any]) -> Path:
    """Write ``sandbox.json`` so other processes (calsync serve, scripts) can find the sandbox."""
    path = data_dir / "sandbox.json"
    path.write_text(json.dumps(endpoints, indent=2) + "\n")
    return path


def start_in_thread(
    sandbox: Sandbox, data_dir: Path, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 15.0
) -> RunningSandbox:
    """Serve ``sandbox`` over HTTPS in a daemon thread; returns once it accepts connections."""
    tls = ensure_tls(data_dir / "sandbox-tls")
    server = uvicorn.Server(_config(sandbox, tls, host, port))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), name="calsync-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.01)
    base_url = f"https://{host}:{_bound_port(server)}"
    endpoints = sandbox.endpoint_map(base_url, tls.ca_cert)
    return RunningSandbox(sandbox, base_url, tls, endpoints, server, thread)
