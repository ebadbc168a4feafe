"""What an operator watches, on a real `calsync serve` process: /healthz, /readyz (and its reasons), /metrics in
the Prometheus text format, /docs and /redoc with every asset served by calsync itself (no internet), and logs
that are JSON on request and keep the OAuth callback's access line with its code and state masked."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from calsync.config import Settings
from calsync.store.db import make_engine
from calsync.store.migrate import upgrade
from calsync.web.app import create_app
from tests.processes import CalsyncProcess, clean_env

BOUND = 90.0
CODE, STATE = "C0DE-never-logged-4f1", "ST4TE-never-logged-9a2"


class Serve(CalsyncProcess):
    """`calsync serve --port 0`: its URL from the line it logs, healthy before a test uses it."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(["serve", "--port", "0"], clean_env(COLUMNS="300", **env))
        self.url = self.wait_for(r"serving on (http://127\.0\.0\.1:\d+)").group(1)
        self.wait_healthy(self.url)


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    data = tmp_path_factory.mktemp("observability")
    process = Serve({"CALSYNC_DATA_DIR": str(data), "CALSYNC_LOG_FORMAT": "json", "CALSYNC_LEASE_SECONDS": "3"})
    yield process
    if process.popen.poll() is None:
        process.stop()


def test_readyz_says_ready_with_each_check(serve: Serve) -> None:
    """serve migrated its database and runs its own worker, so /readyz turns 200 with every check ok."""
    deadline = time.monotonic() + BOUND
    while True:
        answer = httpx.get(serve.url + "/readyz", timeout=10)
        if answer.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert answer.status_code == 200, answer.text
    assert answer.json()["checks"] == {"database": "ok", "migrations": "ok", "workers": "ok"}
    assert httpx.get(serve.url + "/healthz", timeout=10).json()["status"] == "ok"


def test_metrics_are_prometheus_text(serve: Serve) -> None:
    """/metrics answers in the Prometheus text format with the installation's gauges and this process's series."""
    answer = httpx.get(serve.url + "/metrics", timeout=10)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain; version=")
    text = answer.text
    assert "calsync_database_up 1.0" in text
    assert re.search(r"^calsync_workers_alive 1\.0$", text, re.M), text
    for family in (
        "calsync_change_to_written_seconds",
        "calsync_entries_written_total",
        "calsync_entries_failed_total",
        "calsync_provider_calls_total",
        "calsync_quota_wait_seconds",
        "calsync_provider_throttled_total",
        "calsync_notifications_total",
        "calsync_leases_held",
        "calsync_round_duration_seconds",
        "calsync_oldest_unsynced_change_age_seconds",
        "calsync_connections",
    ):
        assert f"# HELP {family.removesuffix('_total')}" in text or f"# HELP {family}" in text, family


def test_refused_notifications_are_counted(serve: Serve) -> None:
    """A push notification for a channel calsync never opened is refused, and /metrics counts it."""

    def refused() -> float:
        text = httpx.get(serve.url + "/metrics", timeout=10).text
        found = re.search(r'^calsync_notifications_total\{outcome="refused",provider="google"\} (\S+)$', text, re.M)
        return float(found.group(1)) if found else 0.0  # (the exposition sorts labels by name)

    before = refused()
    answer = httpx.post(
        serve.url + "/webhooks/google",
        headers={"X-Goog-Channel-Id": "not-ours", "X-Goog-Channel-Token": "x", "X-Goog-Resource-State": "exists"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert refused() == before + 1


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_need_no_internet(serve: Serve, page: str) -> None:
    """The page and every script, style and icon it references come from calsync itself, and the OpenAPI
    document it loads is there too."""
    html = httpx.get(serve.url + page, timeout=10)
    assert html.status_code == 200
    parser = _Assets()
    parser.feed(html.text)
    assert parser.urls, "the page references its assets"
    assert "cdn." not in html.text and "fonts.googleapis" not in html.text
    for ref in parser.urls:
        absolute = urljoin(serve.url + page, ref)
        assert urlsplit(absolute).netloc == urlsplit(serve.url).netloc, f"{ref} is not served by calsync"
        asset = httpx.get(absolute, timeout=30)
        assert asset.status_code == 200 and len(asset.content) > 100, ref
    assert re.search(r"/openapi\.json", html.text)
    assert httpx.get(serve.url + "/openapi.json", timeout=10).json()["info"]["title"] == "calsync"


def test_logs_are_json_and_keep_the_callback_line_masked(serve: Serve) -> None:
    """The OAuth callback's access line is logged (it used to be lost to a logging error) with code and state
    masked; every log record is one JSON object."""
    httpx.get(f"{serve.url}/oauth/google/callback?code={CODE}&state={STATE}&scope=x", timeout=10)
    httpx.get(f"{serve.url}/healthz", timeout=10)
    err = serve.stop()
    assert "Logging error" not in err and "Traceback" not in err
    assert CODE not in err and STATE not in err
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert {"time", "level", "logger", "message", "process"} <= set(records[0])
    access = [
        r["message"] for r in records if r["logger"] == "uvicorn.access" and "/oauth/google/callback" in r["message"]
    ]
    assert len(access) == 1, err
    assert "code=[redacted]" in access[0] and "state=[redacted]" in access[0] and "scope=x" in access[0]
    others = [line for line in err.splitlines() if line.strip() and not line.startswith("{")]
    assert len(others) == 1 and "serving on" in others[0], others  # the start banner is the only plain line


def test_readyz_names_a_schema_that_is_not_this_versions(tmp_path: Path) -> None:
    """An app whose database is at another migration than this code's head (an upgrade by a newer calsync, or one
    not run yet) is alive but not ready, and says to run `calsync db upgrade`."""
    settings = Settings(data_dir=tmp_path, expect_workers=False)
    upgrade(settings.effective_database_url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 200
        engine = make_engine(settings.effective_database_url)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0003'"))
        engine.dispose()
        assert client.get("/healthz").status_code == 200
        answer = client.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["checks"]["database"] == "ok" and "calsync db upgrade" in body["checks"]["migrations"]
    assert body["reason"].startswith("migrations: the database is at 0003")


def test_redaction_keeps_the_access_line_arguments_uvicorn_formats() -> None:
    """Masking a secret in uvicorn's access record keeps its argument tuple, so uvicorn's own formatter (used when
    calsync runs under a uvicorn logging config of the deployment's) still writes the line instead of failing
    with "cannot unpack non-iterable NoneType"."""
    from uvicorn.logging import AccessFormatter

    from calsync.web.errors import redact_record

    path = f"/oauth/google/callback?code={CODE}&state={STATE}"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", path, "1.1", 303),
        None,
    )
    line = AccessFormatter(use_colors=False).format(redact_record(record))
    assert CODE not in line and STATE not in line
    assert "/oauth/google/callback?code=[redacted]&state=[redacted]" in line and "303" in line
