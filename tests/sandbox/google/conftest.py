"""Fixtures for the Google contract suite: a registered OAuth client, official-client services, a receiver."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httplib2
import httpx
import pytest
import requests
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from calsync.sandbox.google import GoogleSandbox
from calsync.sandbox.server import RunningSandbox

CAL = "https://www.googleapis.com/auth/calendar"
EVENTS = "https://www.googleapis.com/auth/calendar.events"
CAL_RO = "https://www.googleapis.com/auth/calendar.readonly"
CLIENT_ID = "calsync-test.apps.googleusercontent.com"
SECRET = "s3cret"
REDIRECT = "https://app.example/oauth/google/callback"


def reason(exc: HttpError) -> str:
    """The ``error.errors[0].reason`` googleapiclient itself branches on."""
    return str(json.loads(exc.content)["error"]["errors"][0]["reason"])


def when(hour: int, day: int = 1) -> dict[str, Any]:
    """A start/end pair one hour long on 2030-01-{day} at ``hour`` UTC."""
    return {
        "start": {"dateTime": f"2030-01-{day:02d}T{hour:02d}:00:00Z"},
        "end": {"dateTime": f"2030-01-{day:02d}T{hour + 1:02d}:00:00Z"},
    }


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for a condition with a bound (never sleep-and-hope)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the time bound")
        time.sleep(0.01)


@dataclass
class GoogleKit:
    running: RunningSandbox
    google: GoogleSandbox
    ep: dict[str, str]
    ca: str

    def http(self) -> httpx.Client:
        return httpx.Client(verify=ssl.create_default_context(cafile=self.ca), follow_redirects=False)

    def session(self) -> requests.Session:
        s = requests.Session()
        s.trust_env = False
        s.verify = self.ca
        return s

    def tokens(self, email: str, scopes: tuple[str, ...] = (CAL,)) -> dict[str, Any]:
        return self.google.grant_tokens(email, CLIENT_ID, list(scopes))

    def credentials(self, email: str, scopes: tuple[str, ...] = (CAL,)) -> Credentials:
        tok = self.tokens(email, scopes)
        return Credentials(
            tok["access_token"], refresh_token=tok.get("refresh_token"), token_uri=self.ep["token"],
            client_id=CLIENT_ID, client_secret=SECRET, scopes=list(scopes),
        )

    def service(self, email: str, scopes: tuple[str, ...] = (CAL,), creds: Credentials | None = None) -> Any:
        creds = creds or self.credentials(email, scopes)
        return build(
            "calendar", "v3", http=AuthorizedHttp(creds, http=httplib2.Http(ca_certs=self.ca)),
            client_options={"api_endpoint": self.ep["calendar_api"]}, static_discovery=True,
        )

    def api(self, method: str, path: str, token: str | None, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        with self.http() as c:
            return c.request(method, self.ep["calendar_api"] + path.lstrip("/"), headers=headers, **kw)


@pytest.fixture
def g(sandbox: RunningSandbox) -> GoogleKit:
    google = sandbox.sandbox.google
    google.register_client(CLIENT_ID, SECRET, [REDIRECT, "http://127.0.0.1:8765/cb"])
    return GoogleKit(sandbox, google, sandbox.endpoints["google"], str(sandbox.tls.ca_cert))


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A plain-http webhook receiver on loopback that records what it is sent."""

    def __init__(self) -> None:
        self.items: list[Received] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with outer.lock:
                    outer.items.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def states(self, channel: str) -> list[tuple[str, int]]:
        with self.lock:
            return [
                (r.headers["x-goog-resource-state"], int(r.headers["x-goog-message-number"]))
                for r in self.items if r.headers.get("x-goog-channel-id") == channel
            ]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()
