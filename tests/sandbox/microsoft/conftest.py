"""Helpers for the Microsoft emulator's contract tests: a registered app, tokens, a Graph client, a receiver."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from calsync.sandbox.microsoft import MicrosoftSandbox
from calsync.sandbox.server import RunningSandbox

CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "sandbox-secret-value"
REDIRECT = "https://calsync.test/oauth/microsoft/callback"
SCOPES = "https://graph.microsoft.com/Calendars.ReadWrite https://graph.microsoft.com/User.Read"


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll until ``predicate`` is truthy (bounded), returning its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def ms(sandbox: RunningSandbox) -> MicrosoftSandbox:
    ms: MicrosoftSandbox = sandbox.sandbox.microsoft
    ms.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT])
    return ms


@pytest.fixture
def ssl_ctx(sandbox: RunningSandbox) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(sandbox.tls.ca_cert))


@pytest.fixture
def http(sandbox: RunningSandbox, ssl_ctx: ssl.SSLContext) -> Iterator[httpx.Client]:
    with httpx.Client(verify=ssl_ctx, base_url=sandbox.base_url, trust_env=False, timeout=30) as client:
        yield client


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def authorize_code(http: httpx.Client, email: str, scopes: str = SCOPES, **extra: str) -> tuple[str, str]:
    """Run authorize with auto-consent (plain HTTP, no browser): returns (code, verifier)."""
    verifier, challenge = pkce()
    params = {
        "client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT,
        "scope": f"{scopes} openid profile offline_access", "state": "st", "login_hint": email,
        "code_challenge": challenge, "code_challenge_method": "S256", "nonce": "n-1", **extra,
    }
    r = http.get("/common/oauth2/v2.0/authorize", params=params)
    assert r.status_code == 302, r.text
    query = parse_qs(urlsplit(r.headers["location"]).query)
    return query["code"][0], verifier


def redeem(http: httpx.Client, code: str, verifier: str, scopes: str = SCOPES) -> httpx.Response:
    return http.post("/common/oauth2/v2.0/token", data={
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "authorization_code", "code": code,
        "redirect_uri": REDIRECT, "code_verifier": verifier, "scope": f"{scopes} openid profile offline_access",
    })


def login(sandbox: RunningSandbox, http: httpx.Client, email: str, scopes: str = SCOPES) -> dict[str, Any]:
    """Tokens for ``email`` (account created if new) through the real authorize + token endpoints."""
    sandbox.sandbox.context.auto_consent = True
    code, verifier = authorize_code(http, email, scopes)
    r = redeem(http, code, verifier, scopes)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture
def graph_for(
    sandbox: RunningSandbox, ms: MicrosoftSandbox, http: httpx.Client, ssl_ctx: ssl.SSLContext
) -> Iterator[Callable[..., httpx.Client]]:
    """``graph_for(email)``: an httpx client on the Graph base URL with that user's bearer token."""
    clients: list[httpx.Client] = []

    def make(email: str, scopes: str = SCOPES) -> httpx.Client:
        token = login(sandbox, http, email, scopes)["access_token"]
        client = httpx.Client(verify=ssl_ctx, base_url=sandbox.endpoints["microsoft"]["graph"], trust_env=False,
                              headers={"Authorization": f"Bearer {token}"}, timeout=30)
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


def event_body(subject: str = "Standup", start: str = "2030-03-04T09:00:00", end: str = "2030-03-04T09:30:00",
               tz: str = "UTC", **extra: Any) -> dict[str, Any]:
    return {"subject": subject, "start": {"dateTime": start, "timeZone": tz},
            "end": {"dateTime": end, "timeZone": tz}, **extra}


@dataclass
class Receiver:
    """A subscriber endpoint on loopback: records notifications, answers validation as told."""

    base_url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    validations: list[str] = field(default_factory=list)
    mode: str = "echo"  # echo | wrong | status500 | slow
    slow_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self, path: str = "/notify") -> list[dict[str, Any]]:
        with self.lock:
            return [r["json"] for r in self.received if r["path"] == path]

    def values(self, path: str = "/notify") -> list[dict[str, Any]]:
        return [item for body in self.bodies(path) for item in body["value"]]


@pytest.fixture(scope="session")
def _receiver_server() -> Iterator[Receiver]:
    receiver = Receiver()

    async def handle(request: Request) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:
            with receiver.lock:
                receiver.validations.append(token)
            if receiver.mode == "slow":
                await asyncio.sleep(receiver.slow_seconds)
            if receiver.mode == "wrong":
                return PlainTextResponse("not-the-token")
            if receiver.mode == "status500":
                return PlainTextResponse("boom", status_code=500)
            return PlainTextResponse(token)
        data = await request.json()
        with receiver.lock:
            receiver.received.append({"path": request.url.path, "json": data})
        return Response(status_code=202)

    app = Starlette(routes=[Route("/{path:path}", handle, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    wait_for(lambda: server.started, what="receiver start")
    port = server.servers[0].sockets[0].getsockname()[1]
    receiver.base_url = f"http://127.0.0.1:{port}"
    yield receiver
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def receiver(_receiver_server: Receiver) -> Receiver:
    with _receiver_server.lock:
        _receiver_server.received.clear()
        _receiver_server.validations.clear()
    _receiver_server.mode = "echo"
    return _receiver_server
