"""The sign-in limiter (issue 13): one for the API and the page, counts in the database shared by every web
process, and X-Forwarded-For believed only from CALSYNC_TRUSTED_PROXIES.

Real HTTP through the app on SQLite and PostgreSQL: the TestClient for one or two app instances on one database
(two web processes' worth: separate apps, separate engines), and uvicorn on a free port with ``serve``'s own
server configuration where the client address matters.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from calsync.config import Settings
from calsync.services import auth
from calsync.store.db import Database
from calsync.web.app import create_app, server_config
from calsync.web.client import resolve
from tests.api.conftest import PASSWORD, Api, error_of
from tests.pages.conftest import csrf_of

EMAIL = "max@acme.test"
WRONG = {"email": EMAIL, "password": "not the password"}
RIGHT = {"email": EMAIL, "password": PASSWORD}


@pytest.fixture
def with_password(api: Api) -> Api:
    auth.change_password(api.ctx, auth.principal(api.people["member"]), current=None, new=PASSWORD, address="x")
    return api


def _page_sign_in(client: TestClient, password: str) -> httpx.Response:
    token = csrf_of(client.get("/signin").text)
    return client.post(
        "/signin", data={"email": EMAIL, "password": password, "csrf_token": token}, follow_redirects=False
    )


def test_thirty_wrong_passwords_then_the_right_one_is_refused_by_the_api_and_the_page(with_password: Api) -> None:
    """The report: 30 wrong passwords on POST /api/v1/session, then the right one, succeeded. Now the 6th attempt
    and every one after it is 429 with Retry-After and the limiter's message, the right password included, and the
    sign-in page (the same limiter) refuses the same email from the same address."""
    client = with_password.client
    statuses = [client.post("/api/v1/session", json=WRONG).status_code for _ in range(30)]
    assert statuses == [401] * 5 + [429] * 25
    right = client.post("/api/v1/session", json=RIGHT)
    assert right.status_code == 429 and "calsync_session" not in right.headers.get("set-cookie", "")
    assert error_of(right) == {
        "code": "too_many_attempts",
        "message": "Too many sign-in attempts. Try again in 5 minutes.",
        "field": None,
    }
    assert 1 <= int(right.headers["retry-after"]) <= 300
    page = _page_sign_in(client, PASSWORD)
    assert page.status_code == 429 and "Too many sign-in attempts" in page.text


def test_the_page_and_the_api_share_one_count(with_password: Api, clock: Any) -> None:
    """Failures on the page count for the API and the other way round; the window passes, and a success clears."""
    client = with_password.client
    for _ in range(3):
        assert _page_sign_in(client, "not the password").status_code == 401
    for _ in range(2):
        assert client.post("/api/v1/session", json=WRONG).status_code == 401
    assert client.post("/api/v1/session", json=RIGHT).status_code == 429
    clock.advance(minutes=5)
    assert client.post("/api/v1/session", json=RIGHT).status_code == 200
    for _ in range(4):  # the success forgave the earlier failures: four more are allowed before the block
        assert client.post("/api/v1/session", json=WRONG).status_code == 401
    assert client.post("/api/v1/session", json=RIGHT).status_code == 200


@pytest.fixture
def second_app(with_password: Api, db_url: str, clock: Any, tmp_path: Path) -> Iterator[TestClient]:
    """Another web process's worth: its own app, its own engine and connection pool, the same database."""
    db = Database(db_url)
    app = create_app(Settings(data_dir=tmp_path / "second"), database=db, clock=clock)
    with TestClient(app) as client:
        yield client
    db.dispose()


def test_two_web_processes_share_the_counts(with_password: Api, second_app: TestClient) -> None:
    """Failures spread over two app instances on one database add up: 3 on one and 2 on the other block both."""
    first = with_password.client
    for client in (first, first, second_app, first, second_app):
        assert client.post("/api/v1/session", json=WRONG).status_code == 401
    assert first.post("/api/v1/session", json=RIGHT).status_code == 429
    assert second_app.post("/api/v1/session", json=RIGHT).status_code == 429


def test_concurrent_attempts_on_two_processes_never_exceed_the_limit(
    with_password: Api, second_app: TestClient
) -> None:
    """24 wrong passwords sent at once, half to each app: at most 5 are checked (401), every other one is 429.
    (A check-then-record limiter lets every attempt in the same instant through.)"""
    clients = [with_password.client, second_app]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda i: clients[i % 2].post("/api/v1/session", json=WRONG).status_code, range(24)))
    assert set(statuses) <= {401, 429}
    assert 1 <= statuses.count(401) <= 5, statuses
    assert with_password.client.post("/api/v1/session", json=RIGHT).status_code == 429


# ---- the client address --------------------------------------------------------------------------------------------


@contextmanager
def served(app: FastAPI, settings: Settings) -> Iterator[str]:
    """The app under uvicorn with ``calsync serve``'s configuration, on a free port of 127.0.0.1."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = server_config(app, settings, port=sock.getsockname()[1])
    config.lifespan, config.access_log, config.log_level = "off", False, "warning"
    server = __import__("uvicorn").Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    with httpx.Client(trust_env=False) as http:
        while True:
            try:
                if http.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
            time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _live_app(api: Api, database: Database, clock: Any, data_dir: Path, **settings: Any) -> tuple[FastAPI, Settings]:
    config = Settings(data_dir=data_dir / "live", **settings)
    return create_app(config, database=database, clock=clock), config


def test_a_rotating_x_forwarded_for_from_localhost_does_not_reset_the_limit(
    with_password: Api, database: Database, clock: Any, data_dir: Path
) -> None:
    """The report: from 127.0.0.1, a new X-Forwarded-For on every attempt made every attempt a new client (uvicorn
    believes that header from 127.0.0.1 by default). With no trusted proxies configured the header is ignored."""
    app, settings = _live_app(with_password, database, clock, data_dir)
    with served(app, settings) as base, httpx.Client(base_url=base, trust_env=False) as http:
        statuses = [
            http.post("/api/v1/session", json=WRONG, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
            for i in range(1, 9)
        ]
        assert statuses == [401] * 5 + [429] * 3
        right = http.post("/api/v1/session", json=RIGHT, headers={"X-Forwarded-For": "198.51.100.77"})
        assert right.status_code == 429


def test_a_trusted_proxy_names_the_client_and_a_forged_hop_does_not_help(
    with_password: Api, database: Database, clock: Any, data_dir: Path
) -> None:
    """With CALSYNC_TRUSTED_PROXIES=127.0.0.1 the proxy's X-Forwarded-For entry is the client: two clients behind the
    proxy are counted apart, and an address the client wrote in front of the proxy's entry is not believed."""
    app, settings = _live_app(with_password, database, clock, data_dir, trusted_proxies="127.0.0.1, ::1")
    with served(app, settings) as base, httpx.Client(base_url=base, trust_env=False) as http:
        for _ in range(5):
            assert (
                http.post("/api/v1/session", json=WRONG, headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 401
            )
        blocked = http.post("/api/v1/session", json=RIGHT, headers={"X-Forwarded-For": "203.0.113.5"})
        assert blocked.status_code == 429
        forged = http.post("/api/v1/session", json=RIGHT, headers={"X-Forwarded-For": "198.51.100.9, 203.0.113.5"})
        assert forged.status_code == 429
        other = http.post("/api/v1/session", json=RIGHT, headers={"X-Forwarded-For": "198.51.100.9"})
        assert other.status_code == 200


NETS = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32")]


@pytest.mark.parametrize(
    ("peer", "headers", "proxies", "expected"),
    [
        ("127.0.0.1", ["198.51.100.1"], [], "127.0.0.1"),  # nothing trusted: the header is ignored
        ("192.0.2.7", ["198.51.100.1"], NETS, "192.0.2.7"),  # the peer is not a proxy: ignored
        ("127.0.0.1", ["198.51.100.1"], NETS, "198.51.100.1"),
        ("127.0.0.1", ["6.6.6.6, 198.51.100.1"], NETS, "198.51.100.1"),  # the client's own entry is not believed
        ("127.0.0.1", ["198.51.100.1, 10.1.2.3"], NETS, "198.51.100.1"),  # two trusted hops
        ("127.0.0.1", ["198.51.100.1", "10.1.2.3"], NETS, "198.51.100.1"),  # the header sent twice
        ("127.0.0.1", ["not-an-ip"], NETS, "127.0.0.1"),  # garbage: the proxy is the last hop we can vouch for
        ("127.0.0.1", ["10.9.9.9"], NETS, "10.9.9.9"),  # only proxies: the farthest one
        ("127.0.0.1", [], NETS, "127.0.0.1"),
        ("::1", ["198.51.100.1"], NETS, "::1"),  # v6 peer, v4-only proxy list
    ],
)
def test_client_address_rules(peer: str, headers: list[str], proxies: list[Any], expected: str) -> None:
    """Which address the limiter counts, for each shape of forwarding chain."""
    assert resolve(peer, headers, proxies) == expected


def test_a_bad_trusted_proxy_setting_is_refused(data_dir: Path) -> None:
    """A value that is not an address or CIDR stops the settings with a message naming it."""
    with pytest.raises(ValueError, match="'10.0.0.300' is not an IP address or CIDR"):
        Settings(data_dir=data_dir, trusted_proxies="10.0.0.1,10.0.0.300")
    assert Settings(data_dir=data_dir, trusted_proxies="10.0.0.0/8, ::1").trusted_proxy_networks == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1"),
    )
