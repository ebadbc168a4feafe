"""The production layout of docs/deploy.md, run on this machine: PostgreSQL, one `calsync serve --no-sync` web
process and two `calsync worker --metrics-port 0` processes (separate OS processes, free ports), the sandbox
standing in for Google and Microsoft over HTTPS (in this test process, auto-consent on).

Everything is installed through the public paths, as an operator would: `calsync init` on the empty PostgreSQL
database (migrations, the token key file, Acme and its admin, the operator token printed once), `calsync org
create` for Globex (its admin invited by a printed link, no mail server), the operator token reading
`/api/v1/organizations`; each admin adds a member through `POST /api/v1/people` (a cookie session with its CSRF
header), the member sets their password through the invitation link (`POST /api/v1/password/set`), the admin
creates an event through the API and invites them. The two members (one per organization, one per provider)
connect through calsync's real /connect and callback routes, RSVP through the API, and the entries appear in, and
leave, their calendars; /readyz, /metrics on serve and on the workers, and the JSON logs are checked.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from calsync.core.connection import Provider
from calsync.crypto import TokenCipher
from calsync.providers.config import ClientCredentials
from calsync.sandbox.server import RunningSandbox, write_endpoint_map
from calsync.store.db import Database
from calsync.store.sync_models import ConnectionRow
from tests.processes import CalsyncProcess, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

GOOGLE = ClientCredentials("calsync-deploy.apps.googleusercontent.com", "deploy-google-secret-d1")
MICROSOFT = ClientCredentials("0d0d0d0d-14a6-49ae-97bc-6eba6914d3p1", "deploy-microsoft-secret-d2")
BOUND = 90.0
PASSWORD = "violet harbor lantern 42"  # passes the password check (12+ characters, zxcvbn 3+, no name or email)
OPERATOR_TOKEN = re.compile(r"cso_[A-Za-z0-9_-]{43}")
LINK = re.compile(r"https?://\S+/set-password\?token=[A-Za-z0-9_-]+")


class Process(CalsyncProcess):
    """A calsync process of the layout, its stderr (where the logs go) collected."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        super().__init__(args, {**os.environ, "COLUMNS": "400", **env})

    @property
    def err(self) -> str:
        return self.output


def status(url: str) -> int | None:
    """The status of GET ``url``, or None while the process is not answering yet (its socket listens early)."""
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.TransportError:
        return None


def samples(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of metric ``name`` whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', head))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(value)
    return total


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for p in started:
        p.stop()


def _calsync(env: dict[str, str], *args: str) -> str:
    """Run a calsync CLI command to completion as an operator would (same environment as serve and the workers)."""
    done = subprocess.run(
        [sys.executable, "-m", "calsync", *args],
        env={**os.environ, "COLUMNS": "400", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"calsync {args} exited {done.returncode}: {done.stdout}{done.stderr}"
    return done.stdout


def _set_password(base: str, link: str) -> None:
    """What the person does with their invitation link: POST /api/v1/password/set with the link's token."""
    token = parse_qs(urlsplit(link).query)["token"][0]
    done = httpx.post(f"{base}/api/v1/password/set", json={"token": token, "password": PASSWORD}, timeout=30)
    assert done.status_code == 200, done.text


@contextmanager
def _signed_in(base: str, email: str) -> Iterator[httpx.Client]:
    """A cookie session (POST /api/v1/session) whose writes carry the X-CSRF-Token header it returned."""
    with httpx.Client(base_url=base, trust_env=False, timeout=30) as web:
        signed = web.post("/api/v1/session", json={"email": email, "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        web.headers["X-CSRF-Token"] = signed.headers["X-CSRF-Token"]
        yield web


@dataclass(frozen=True)
class Member:
    email: str
    token: str  # their API token (made by the admin), for the RSVPs
    event_id: int
    title: str


def _bring_in(base: str, admin: str, email: str, name: str, title: str) -> Member:
    """The admin adds a member through the API (invited: the link comes back, no mail server), the member sets
    their password through it; the admin gives them an API token, creates an event a week ahead and invites them."""
    with _signed_in(base, admin) as web:
        created = web.post("/api/v1/people", json={"email": email, "name": name, "timezone": "Europe/London"})
        assert created.status_code == 201, created.text
        person = created.json()
        assert person["role"] == "member" and person["invitation"]["delivery"] == "not_configured", person
        _set_password(base, person["invitation"]["url"])
        token = web.post(f"/api/v1/people/{person['id']}/tokens", json={"label": "rsvp"})
        assert token.status_code == 201, token.text
        day = datetime.now(ZoneInfo("Europe/London")).date() + timedelta(days=7)
        event = web.post(
            "/api/v1/events",
            json={
                "title": title,
                "start": f"{day.isoformat()}T10:00:00",
                "end": f"{day.isoformat()}T11:30:00",
                "timezone": "Europe/London",
                "location": "London office",
            },
        )
        assert event.status_code == 201, event.text
        event_id = event.json()["id"]
        invited = web.post(f"/api/v1/events/{event_id}/invitations", json={"person_ids": [person["id"]]})
        assert invited.status_code == 200, invited.text
    return Member(email, str(token.json()["token"]), event_id, title)


def _connect(base: str, email: str, provider: Provider, ca: str) -> None:
    """Sign in, /connect/{provider} -> the sandbox authorizes at once (login_hint, auto-consent) -> the callback."""
    with httpx.Client(base_url=base, trust_env=False, timeout=30) as web:
        signed = web.post("/api/v1/session", json={"email": email, "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        page = web.get("/profile/calendar")  # Connect is a form POST carrying the page's CSRF token
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None, page.text[:500]
        start = web.post(f"/connect/{provider.value}", data={"csrf_token": token.group(1)})
        assert start.status_code == 303, start.text
        with httpx.Client(verify=ssl.create_default_context(cafile=ca), trust_env=False, timeout=30) as provider_http:
            consent = provider_http.get(start.headers["location"])
        assert consent.status_code in (302, 303), consent.text
        callback = urlsplit(consent.headers["location"])
        assert callback.path == f"/oauth/{provider.value}/callback"
        done = web.get(f"{callback.path}?{callback.query}")
        assert done.status_code == 303 and "connected" in done.headers["location"], done.text


def _entries(sandbox: RunningSandbox, provider: Provider, email: str) -> list[str]:
    emulator = getattr(sandbox.sandbox, provider.value)
    if provider is Provider.GOOGLE:
        items = emulator.events(email, "primary")
        return sorted(i["summary"] for i in items if i.get("status") != "cancelled")
    default = emulator.state.require_account(email).default_calendar.id
    return sorted(
        i["subject"] for i in emulator.events(email) if i.get("calendarId") == default and not i.get("isCancelled")
    )


def _oauth_tokens(url: str, data: Path) -> list[str]:
    """The OAuth tokens calsync holds now (decrypted with the installation's key file)."""
    cipher = TokenCipher.for_data_dir(data)
    db = Database(url)
    try:
        with db.session(write=False) as session:
            rows = session.execute(select(ConnectionRow.access_token_enc, ConnectionRow.refresh_token_enc)).all()
    finally:
        db.dispose()
    tokens = [cipher.decrypt(value) for row in rows for value in row if value]
    assert len(tokens) == 4, "an access and a refresh token per connection"
    return tokens


def test_postgres_serve_two_workers_both_providers(
    postgres_server: Any, sandbox: RunningSandbox, tmp_path: Path, processes: list[Process]
) -> None:
    """docs/deploy.md's layout syncs an RSVP end to end for both providers, is ready, counts, and logs safely."""
    url = postgres_server.create("calsync_deploy")
    try:
        _run_layout(url, sandbox, tmp_path, processes)
    except BaseException:
        for p in processes:
            sys.stderr.write(f"---- calsync {p.args} stderr (end) ----\n{p.err[-4000:]}\n")
        raise
    finally:
        for p in processes:
            p.stop()
        postgres_server.drop(url)


def _run_layout(url: str, sandbox: RunningSandbox, tmp_path: Path, processes: list[Process]) -> None:
    data = tmp_path / "data"
    sandbox.sandbox.context.auto_consent = True
    env = {
        "CALSYNC_DATABASE_URL": url,
        "CALSYNC_DATA_DIR": str(data),
        "CALSYNC_SANDBOX_MAP": str(write_endpoint_map(tmp_path, sandbox.endpoints)),
        "CALSYNC_GOOGLE_CLIENT_ID": GOOGLE.client_id,
        "CALSYNC_GOOGLE_CLIENT_SECRET": GOOGLE.client_secret,
        "CALSYNC_MICROSOFT_CLIENT_ID": MICROSOFT.client_id,
        "CALSYNC_MICROSOFT_CLIENT_SECRET": MICROSOFT.client_secret,
        "CALSYNC_PUSH_NOTIFICATIONS": "false",
        "CALSYNC_POLL_INTERVAL": "2",
        "CALSYNC_LEASE_SECONDS": "3",
        "CALSYNC_LOG_FORMAT": "json",
        "CALSYNC_LOG_LEVEL": "DEBUG",
        "CALSYNC_SMTP_URL": "",  # no mail server: invitation links come back in the answers (and the log)
    }
    # ---- installation: calsync init (migrations, token key file, Acme, its admin, the operator token) ----------
    password_file = tmp_path / "admin-password"
    password_file.write_text(PASSWORD + "\n")
    installed = _calsync(
        env,
        "init",
        "--organization",
        "Acme",
        "--admin-email",
        "ada@acme.test",
        "--admin-name",
        "Ada Acme",
        "--password-file",
        str(password_file),
    )
    found = OPERATOR_TOKEN.search(installed)
    assert found is not None, installed
    operator = found.group(0)
    assert (data / "token-keys.json").is_file(), "init writes the installation's token key file"
    # ---- a second organization with the CLI: its admin is invited by a link printed here (no mail server) -----
    created = _calsync(env, "org", "create", "Globex", "--admin-email", "gil@globex.test", "--admin-name", "Gil Globex")
    invitation = LINK.search(created)
    assert invitation is not None, created

    serve = Process(["serve", "--port", "0", "--no-sync"], env)
    processes.append(serve)
    base = serve.wait_for(r"serving on (http://127\.0\.0\.1:\d+)").group(1)
    wait_until(lambda: status(f"{base}/healthz") == 200, "serve's /healthz")
    not_ready = httpx.get(f"{base}/readyz", timeout=5)
    assert not_ready.status_code == 503 and "worker" in not_ready.json()["reason"]
    sandbox.sandbox.google.register_client(GOOGLE.client_id, GOOGLE.client_secret, [f"{base}/oauth/google/callback"])
    sandbox.sandbox.microsoft.register_client(
        MICROSOFT.client_id, MICROSOFT.client_secret, [f"{base}/oauth/microsoft/callback"]
    )

    workers = [Process(["worker", "--metrics-port", "0", "--concurrency", "4"], env) for _ in range(2)]
    processes.extend(workers)
    metrics_urls = [w.wait_for(r"metrics at (http://127\.0\.0\.1:\d+/metrics)").group(1) for w in workers]
    wait_until(lambda: status(f"{base}/readyz") == 200, "/readyz to say ready")

    # ---- the operator token over HTTP: both organizations, and no organization's data -------------------------
    as_operator = {"Authorization": f"Bearer {operator}"}
    listed = httpx.get(f"{base}/api/v1/organizations", headers=as_operator, timeout=10)
    assert listed.status_code == 200, listed.text
    assert sorted(o["name"] for o in listed.json()) == ["Acme", "Globex"]
    assert httpx.get(f"{base}/api/v1/people", headers=as_operator, timeout=10).status_code == 403

    # ---- people through the API: Globex's admin sets their password; each admin brings in a member -----------
    _set_password(base, invitation.group(0))
    members = {
        Provider.GOOGLE: _bring_in(base, "ada@acme.test", "gus@acme.test", "Gus Member", "Acme quarterly planning"),
        Provider.MICROSOFT: _bring_in(base, "gil@globex.test", "mia@globex.test", "Mia Member", "Globex launch review"),
    }
    ca = str(sandbox.tls.ca_cert)
    for provider, member in members.items():
        _connect(base, member.email, provider, ca)

    def rsvp(member: Member, answer: str) -> None:
        put = httpx.put(
            f"{base}/api/v1/events/{member.event_id}/rsvp",
            json={"status": answer},
            headers={"Authorization": f"Bearer {member.token}"},
            timeout=10,
        )
        assert put.status_code == 200, put.text

    # Google answers the next Calendar API call with 429 + Retry-After: the workers back off, count it, and retry.
    sandbox.sandbox.faults.google.fail_next(429, path_contains="calendar/v3", retry_after=1)
    # Invited (needs action: no entry yet), then "accepted" (an entry appears), then "declined" (it is deleted).
    for answer, present in (("accepted", True), ("declined", False)):
        for member in members.values():
            rsvp(member, answer)
        for provider, member in members.items():
            wait_until(
                lambda p=provider, m=member, want=present: (m.title in _entries(sandbox, p, m.email)) == want,
                f"{member.title!r} {'in' if present else 'gone from'} the {provider.value} calendar",
            )

    # ---- metrics: the installation on serve, each worker's own counters on its endpoint -----------------------
    served = httpx.get(f"{base}/metrics", timeout=10).text
    for provider in Provider:
        assert samples(served, "calsync_connections", provider=provider.value, state="connected") == 1
    wait_until(  # heartbeats come every second; on a loaded machine one may be late for a moment
        lambda: samples(httpx.get(f"{base}/metrics", timeout=10).text, "calsync_workers_alive") == 2,
        "both workers alive in /metrics",
    )

    def scrape_workers() -> list[str]:
        return [httpx.get(u, timeout=10).text for u in metrics_urls]

    # A worker counts a round's writes when the round ends, a moment after its last write shows in the calendar:
    # the deletion just seen there is in the counters once its round is over.
    wait_until(
        lambda: samples(
            "\n".join(scrape_workers()), "calsync_entries_written_total", provider="google", action="deleted"
        ),
        "the workers to count the Google deletion",
    )
    scraped = scrape_workers()
    total = "\n".join(scraped)
    for provider in Provider:
        assert samples(total, "calsync_entries_written_total", provider=provider.value, action="created") >= 1
        assert samples(total, "calsync_provider_calls_total", provider=provider.value, status="2xx") >= 1
        assert samples(total, "calsync_change_to_written_seconds_count", provider=provider.value) >= 1
        assert samples(total, "calsync_round_duration_seconds_count", provider=provider.value, outcome="ok") >= 1
    assert samples(total, "calsync_entries_written_total", provider="google", action="deleted") >= 1
    assert samples(total, "calsync_quota_wait_seconds_count", provider="google", quota="project") >= 1
    assert samples(total, "calsync_provider_throttled_total", provider="google") >= 1
    assert samples(total, "calsync_provider_calls_total", provider="google", status="429") >= 1
    assert all("calsync_leases_held" in s for s in scraped)
    wait_until(
        lambda: (
            samples(httpx.get(f"{base}/metrics", timeout=10).text, "calsync_oldest_unsynced_change_age_seconds") == 0
        ),
        "nothing left unsynced",
    )

    # ---- logs: JSON records, the OAuth callback's access line kept with code and state masked, no secret -------
    for p in processes:
        p.stop()
    records = [json.loads(line) for line in serve.err.splitlines() if line.startswith("{")]
    assert records, serve.err[-2000:]
    callbacks = [r for r in records if r["logger"] == "uvicorn.access" and "/oauth/google/callback" in r["message"]]
    assert callbacks, "the OAuth callback's access line is logged"
    assert "code=[redacted]" in callbacks[0]["message"] and "state=[redacted]" in callbacks[0]["message"]
    everything = serve.err + "".join(w.err for w in workers)
    assert "Logging error" not in everything
    assert "response_mode" not in everything  # MSAL's form_post advice is not shown to operators
    tokens = [operator, *(m.token for m in members.values())]
    for secret in (GOOGLE.client_secret, MICROSOFT.client_secret, PASSWORD, *tokens):
        assert secret not in everything
    for secret in _oauth_tokens(url, data):  # what the workers refreshed and used, at DEBUG level
        assert secret not in everything
    # Every worker that ran rounds logged at DEBUG (a worker may find nothing left to claim: two connections, and
    # the other worker took both; an idle worker has nothing to say at DEBUG).
    busy = [w for w, s in zip(workers, scraped, strict=True) if samples(s, "calsync_round_duration_seconds_count")]
    assert busy, "a worker ran the rounds"
    for w in busy:
        assert any(json.loads(line)["level"] == "DEBUG" for line in w.err.splitlines() if line.startswith("{"))
