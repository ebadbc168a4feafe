"""``calsync worker --metrics-port``: the worker's Prometheus endpoint, a small HTTP server in a daemon thread.

A worker has no web app, so it serves ``/metrics`` (and ``/healthz``) with the standard library's threading HTTP
server: this process's counters (calsync.metrics) plus the installation's gauges read from the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from calsync import metrics
from calsync.errors import ConfigurationError
from calsync.services.health import installation_probe
from calsync.services.runtime import Runtime


@dataclasses.dataclass
class MetricsEndpoint:
    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/metrics"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_metrics(runtime: Runtime, host: str, port: int) -> MetricsEndpoint:
    """Start serving; the port is bound on return (0 picks a free one: read it from ``url``)."""
    installation = metrics.installation_registry(
        installation_probe(runtime.db, runtime.service.now, dt.timedelta(seconds=runtime.settings.lease_seconds * 2))
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                body, kind, status = metrics.exposition(installation), metrics.CONTENT_TYPE, 200
            elif path == "/healthz":
                body, kind, status = b'{"status":"ok"}', "application/json", 200
            else:
                body, kind, status = b"not found: /metrics or /healthz\n", "text/plain", 404
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # scrapes every few seconds: not worth a line
            return

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot serve metrics on {host}:{port}: {exc.strerror}; choose another --metrics-port"
        ) from None
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="calsync-metrics", daemon=True)
    thread.start()
    return MetricsEndpoint(server, thread)
