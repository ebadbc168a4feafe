"""Organizations made the way an operator makes them, and kept apart.

``installed`` starts from an empty database: ``calsync init`` (the CLI) creates Acme, its admin and the operator
token; the operator creates Globex through ``POST /api/v1/organizations``; both admins set their passwords through
their invitation links, sign in, make API tokens, add an organizer and a member; the organizers create events and
invite; Globex's member connects Google Calendar through the sandbox. Then every API operation (read from the
OpenAPI document, so a new endpoint is covered the day it appears) and every page is called:

- by each of Acme's people with Globex's ids: never a 2xx on Globex's objects, no Globex name, title or email in
  any answer, and Globex's data as its admin reads it is unchanged afterwards;
- with the operator token: 403 on everything but the organizations endpoints and health, and no organization's
  people, events or connections in any answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from calsync.cli import app as cli_app
from calsync.config import Settings
from calsync.providers.config import ProviderConfig
from calsync.services.runtime import Runtime, build_runtime
from calsync.web.app import create_app
from tests.pages.conftest import csrf_of

BASE_URL = "http://127.0.0.1:8000"  # where the sandbox's registered redirect URIs point (tests/conftest.py)
PASSWORD = "correct horse battery"
OPERATOR_TOKEN = re.compile(r"cso_[A-Za-z0-9_-]{43}")
runner = CliRunner()


@dataclass
class Org:
    name: str
    id: int = 0
    tokens: dict[str, str] = field(default_factory=dict)  # role -> API token
    ids: dict[str, int] = field(default_factory=dict)  # admin, organizer, member, event, token
    emails: dict[str, str] = field(default_factory=dict)
    markers: list[str] = field(default_factory=list)  # strings only this organization's data contains


@dataclass
class Installed:
    client: TestClient
    runtime: Runtime
    operator: str
    acme: Org
    globex: Org
    env: dict[str, str]

    def h(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def _set_password(client: TestClient, url: str) -> None:
    token = parse_qs(urlsplit(url).query)["token"][0]
    r = client.post("/api/v1/password/set", json={"token": token, "password": PASSWORD})
    assert r.status_code == 200, r.text


def _admin_token(client: TestClient, email: str) -> str:
    r = client.post("/api/v1/session", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    csrf = r.headers["X-CSRF-Token"]
    t = client.post("/api/v1/people/me/tokens", json={"label": "admin"}, headers={"X-CSRF-Token": csrf})
    client.cookies.clear()
    assert t.status_code == 201, t.text
    return str(t.json()["token"])


def _populate(client: TestClient, org: Org, domain: str) -> None:
    """An organizer and a member (passwords set through invitation links), an event, an invitation, an RSVP."""
    admin = {"Authorization": f"Bearer {org.tokens['admin']}"}
    for role in ("organizer", "member"):
        email = f"{role}@{domain}"
        r = client.post(
            "/api/v1/people",
            json={"email": email, "name": f"{org.name} {role}", "timezone": "UTC", "role": role},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        _set_password(client, r.json()["invitation"]["url"])
        org.ids[role], org.emails[role] = r.json()["id"], email
        t = client.post(f"/api/v1/people/{org.ids[role]}/tokens", json={"label": role}, headers=admin)
        org.tokens[role] = t.json()["token"]
        if role == "member":
            org.ids["token"] = t.json()["id"]
    organizer = {"Authorization": f"Bearer {org.tokens['organizer']}"}
    e = client.post(
        "/api/v1/events",
        json={"title": f"{org.name} secret planning", "start": "2027-05-01T09:00:00", "end": "2027-05-01T10:00:00"},
        headers=organizer,
    )
    assert e.status_code == 201, e.text
    org.ids["event"] = e.json()["id"]
    r = client.post(
        f"/api/v1/events/{org.ids['event']}/invitations", json={"person_ids": [org.ids["member"]]}, headers=organizer
    )
    assert r.status_code == 200, r.text
    r = client.put(
        f"/api/v1/events/{org.ids['event']}/rsvp",
        json={"status": "accepted"},
        headers={"Authorization": f"Bearer {org.tokens['member']}"},
    )
    assert r.status_code == 200, r.text
    org.markers += [f"{org.name} secret planning", f"{org.name} organizer", f"{org.name} member", *org.emails.values()]


def _connect_google(installed_client: TestClient, runtime: Runtime, token: str) -> None:
    """The member's Google Calendar, connected through the sandbox (auto-consent) with the real OAuth dance."""
    r = installed_client.post(
        "/api/v1/me/calendar/connect", json={"provider": "google"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200, r.text
    with httpx.Client(verify=runtime.providers.config.tls.ssl_context(), trust_env=False) as http:
        consent = http.get(r.json()["authorization_url"])
    assert consent.status_code in (302, 303), consent.text[:200]
    done = installed_client.get(consent.headers["location"], follow_redirects=False)
    assert done.status_code == 303, done.text


@pytest.fixture
def installed(data_dir: Path, db_url: str, provider_config: ProviderConfig, tmp_path: Path) -> Iterator[Installed]:
    env = {"CALSYNC_DATA_DIR": str(data_dir), "CALSYNC_DATABASE_URL": db_url, "CALSYNC_SMTP_URL": ""}
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    result = runner.invoke(
        cli_app,
        [
            "init",
            "--organization",
            "Acme",
            "--admin-email",
            "ada@acme.test",
            "--admin-name",
            "Ada Acme",
            "--password-file",
            str(password_file),
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    found = OPERATOR_TOKEN.search(result.output)
    assert found, result.output
    operator = found.group(0)
    settings = Settings(data_dir=data_dir, database_url=db_url)
    runtime = build_runtime(settings, providers=provider_config)
    app = create_app(settings, runtime=runtime)
    with TestClient(app, base_url=BASE_URL) as client:
        r = client.post(
            "/api/v1/organizations",
            json={"name": "Globex", "admin_email": "gil@globex.test", "admin_name": "Gil Globex"},
            headers={"Authorization": f"Bearer {operator}"},
        )
        assert r.status_code == 201, r.text
        _set_password(client, r.json()["invitation"]["url"])
        acme, globex = Org("Acme"), Org("Globex", id=r.json()["organization"]["id"])
        acme.id = next(
            o["id"]
            for o in client.get("/api/v1/organizations", headers={"Authorization": f"Bearer {operator}"}).json()
            if o["name"] == "Acme"
        )
        for org, email, domain in ((acme, "ada@acme.test", "acme.test"), (globex, "gil@globex.test", "globex.test")):
            org.tokens["admin"] = _admin_token(client, email)
            org.ids["admin"] = client.get(
                "/api/v1/people/me", headers={"Authorization": f"Bearer {org.tokens['admin']}"}
            ).json()["id"]
            org.emails["admin"] = email
            _populate(client, org, domain)
        acme.markers.append("Ada Acme")
        globex.markers.append("Gil Globex")
        _connect_google(client, runtime, globex.tokens["member"])
        client.cookies.clear()
        yield Installed(client, runtime, operator, acme, globex, env)
    runtime.close()


# ---- every API operation ------------------------------------------------------------------------------------


def _operations(client: TestClient) -> list[tuple[str, str]]:
    paths = client.get("/openapi.json").json()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


def _body(method: str, path: str, target: Org) -> Any:
    """A body valid enough to reach the authorization checks, aimed at ``target``'s objects where it names any."""
    bodies: dict[tuple[str, str], Any] = {
        ("PUT", "/api/v1/organizations/me/modules/{module}"): {"enabled": True},
        ("POST", "/api/v1/organizations"): {"name": "Hijack", "admin_email": "x@hijack.test"},
        ("PATCH", "/api/v1/people/me"): {"name": "Renamed"},
        ("POST", "/api/v1/people"): {"email": "new@attacker.test", "name": "N", "timezone": "UTC"},
        ("POST", "/api/v1/events"): {"title": "T", "start": "2027-06-01T09:00:00", "end": "2027-06-01T10:00:00"},
        ("PATCH", "/api/v1/events/{event_id}"): {"title": "Hijacked"},
        ("POST", "/api/v1/events/{event_id}/invitations"): {"person_ids": [target.ids["member"]]},
        ("PUT", "/api/v1/events/{event_id}/rsvp"): {"status": "declined"},
        ("POST", "/api/v1/session"): {"email": target.emails["admin"], "password": "wrong password"},
        ("POST", "/api/v1/password/forgot"): {"email": "nobody@nowhere.test"},
        ("POST", "/api/v1/password/set"): {"token": "not-a-token", "password": "whatever long"},
        ("POST", "/api/v1/me/calendar/connect"): {"provider": "google"},
        ("PUT", "/api/v1/me/calendar/target"): {"create_dedicated": True},
    }
    return bodies.get((method, path))


def _url(path: str, target: Org) -> str:
    return (
        path.replace("{organization_id}", str(target.id))
        .replace("{person_id}", str(target.ids["member"]))
        .replace("{event_id}", str(target.ids["event"]))
        .replace("{token_id}", str(target.ids["token"]))
        .replace("{module}", "events")
    )


def _globex_as_its_admin(i: Installed) -> dict[str, Any]:
    """Everything Globex's admin reads about Globex: compared before and after the attempts."""
    h = i.h(i.globex.tokens["admin"])
    e = i.globex.ids["event"]
    reads = [
        "/api/v1/organizations/me",
        "/api/v1/people",
        f"/api/v1/events/{e}",
        f"/api/v1/events/{e}/rsvps",
        "/api/v1/connections",
        f"/api/v1/people/{i.globex.ids['member']}/calendar",
    ]
    out: dict[str, Any] = {}
    for url in reads:
        r = i.client.get(url, headers=h)
        assert r.status_code == 200, (url, r.text)
        out[url] = r.json()
    for row in out["/api/v1/connections"] if isinstance(out["/api/v1/connections"], list) else []:
        row.pop("last_attempt_at", None)
    return out


OWN_ORG_PATHS = {"/api/v1/session", "/api/v1/password/forgot", "/api/v1/password/set", "/healthz"}


@pytest.mark.parametrize("role", ["admin", "organizer", "member"])
def test_a_person_of_one_organization_reaches_nothing_of_another(installed: Installed, role: str) -> None:
    """Acme's admin, organizer and member call every API operation with Globex's ids: no 2xx on anything that
    names a Globex object, Globex's names, titles and emails appear in no answer, and Globex is unchanged."""
    i, target = installed, installed.globex
    before = _globex_as_its_admin(i)
    token = i.acme.tokens[role]
    seen = []
    for method, path in _operations(i.client):
        url = _url(path, target)
        r = i.client.request(method, url, headers=i.h(token), json=_body(method, path, target))
        seen.append((method, path, r.status_code))
        i.client.cookies.clear()
        leaked = [m for m in target.markers if m.lower() in r.text.lower()]
        assert not leaked, (method, path, r.status_code, leaked)
        names_target = any(p in path for p in ("{person_id}", "{event_id}", "{token_id}", "{organization_id}"))
        if names_target:
            assert r.status_code in (403, 404, 422), (method, path, r.status_code, r.text)
        if path.startswith("/api/v1/organizations") and path != "/api/v1/organizations/me" and "/me/" not in path:
            assert r.status_code == 403, (method, path, r.status_code)  # operator endpoints: people never
    # and the cross-organization attacks with Acme's own event: inviting Globex's member is refused
    if role in ("admin", "organizer"):
        r = i.client.post(
            f"/api/v1/events/{i.acme.ids['event']}/invitations",
            json={"person_ids": [target.ids["member"]]},
            headers=i.h(token),
        )
        assert r.status_code in (404, 422), r.text
    assert len(seen) >= 30  # the OpenAPI document was read: every operation was tried
    assert _globex_as_its_admin(i) == before


def test_the_operator_token_reads_no_organization_data(installed: Installed) -> None:
    """With the operator token every operation but the organizations endpoints and health is 403, and no answer
    carries a person, an event or a connection of either organization."""
    i = installed
    markers = [m for org in (i.acme, i.globex) for m in org.markers]
    operator_paths = {
        "/api/v1/organizations",
        "/api/v1/organizations/{organization_id}",
        "/api/v1/organizations/{organization_id}/disable",
        "/api/v1/organizations/{organization_id}/enable",
    }
    for method, path in _operations(i.client):
        if path in OWN_ORG_PATHS or path in operator_paths:
            continue
        r = i.client.request(method, _url(path, i.globex), headers=i.h(i.operator), json=_body(method, path, i.globex))
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert "operator token" in r.json()["error"]["message"]
        assert not [m for m in markers if m.lower() in r.text.lower()], (method, path)
    listing = i.client.get("/api/v1/organizations", headers=i.h(i.operator))
    assert listing.status_code == 200 and {o["name"] for o in listing.json()} == {"Acme", "Globex"}
    one = i.client.get(f"/api/v1/organizations/{i.globex.id}", headers=i.h(i.operator))
    for r in (listing, one):
        assert not [m for m in markers if m.lower() in r.text.lower()]
    assert i.client.get("/healthz", headers=i.h(i.operator)).status_code == 200


def test_people_cannot_use_the_operator_endpoints(installed: Installed) -> None:
    """An admin's token on /api/v1/organizations is 403 with a message naming the operator token; no token 401."""
    i = installed
    r = i.client.post(
        "/api/v1/organizations", json={"name": "X", "admin_email": "x@x.test"}, headers=i.h(i.acme.tokens["admin"])
    )
    assert r.status_code == 403 and "operator token" in r.json()["error"]["message"]
    assert i.client.get("/api/v1/organizations").status_code == 401
    assert i.client.get("/api/v1/organizations", headers=i.h("cso_" + "x" * 43)).status_code == 401


# ---- pages ------------------------------------------------------------------------------------------------------


def test_pages_of_another_organization_are_not_found(installed: Installed) -> None:
    """Acme's admin, signed in through the form, opens and posts to Globex's event pages: 404 each time, nothing
    of Globex shown; the support page does not diagnose Globex's people; Globex's event is unchanged."""
    i = installed
    before = _globex_as_its_admin(i)
    browser = TestClient(i.client.app, base_url=BASE_URL)
    page = browser.get("/signin")
    r = browser.post(
        "/signin",
        data={"email": "ada@acme.test", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    token = csrf_of(browser.get("/events").text)
    e = i.globex.ids["event"]
    attempts = [
        ("GET", f"/events/{e}", None),
        ("GET", f"/events/{e}/edit", None),
        ("POST", f"/events/{e}/edit", {"title": "Hijacked", "start": "2027-05-01T09:00", "end": "2027-05-01T10:00"}),
        ("POST", f"/events/{e}/cancel", {}),
        ("POST", f"/events/{e}/invite", {"person_id": str(i.acme.ids["member"])}),
        ("POST", f"/events/{e}/rsvp", {"status": "declined"}),
    ]
    for method, url, data in attempts:
        body = None if data is None else {**data, "csrf_token": token}
        r = browser.request(method, url, data=body, follow_redirects=False)
        assert r.status_code == 404, (method, url, r.status_code)
        assert not [m for m in i.globex.markers if m.lower() in r.text.lower()], (method, url)
    for url in ("/events", "/admin", "/support", "/profile/calendar", "/profile/calendar/status.json"):
        r = browser.get(url, follow_redirects=False)
        assert r.status_code == 200, (url, r.status_code)
        assert not [m for m in i.globex.markers if m.lower() in r.text.lower()], url
    r = browser.post("/support", data={"email": i.globex.emails["member"], "csrf_token": token})
    assert r.status_code == 422 and "Globex secret planning" not in r.text
    assert _globex_as_its_admin(i) == before


# ---- disabling an organization ----------------------------------------------------------------------------------


def _globex_rounds(i: Installed) -> list[int]:
    """Run the workers until nothing is due; the connection ids that got a round."""
    return [r.connection_id for r in i.runtime.worker().drain()]


def test_a_disabled_organization_cannot_sign_in_use_tokens_or_sync_and_loses_nothing(installed: Installed) -> None:
    """The operator disables Globex: its people's tokens and sign-in are refused (403 saying why), and its
    connection, due after a change, is not claimed by workers; Acme goes on. Enabled again, everything is there
    and the waiting change syncs."""
    i = installed
    _globex_rounds(i)  # the backfill after connecting: nothing is due afterwards
    [connection] = i.client.get("/api/v1/connections", headers=i.h(i.globex.tokens["admin"])).json()
    renamed = i.client.patch(
        f"/api/v1/events/{i.globex.ids['event']}",
        json={"title": "Globex secret planning, moved"},
        headers=i.h(i.globex.tokens["organizer"]),
    )
    assert renamed.status_code == 200  # the member's connection is due now
    before = _globex_as_its_admin(i)
    r = i.client.post(f"/api/v1/organizations/{i.globex.id}/disable", headers=i.h(i.operator))
    assert r.status_code == 200 and r.json()["disabled_at"] is not None
    for role in ("admin", "organizer", "member"):
        r = i.client.get("/api/v1/people/me", headers=i.h(i.globex.tokens[role]))
        assert r.status_code == 403 and "disabled" in r.json()["error"]["message"]
    r = i.client.post("/api/v1/session", json={"email": "gil@globex.test", "password": PASSWORD})
    assert r.status_code == 403 and "disabled" in r.json()["error"]["message"]
    wrong = i.client.post("/api/v1/session", json={"email": "gil@globex.test", "password": "not the password"})
    assert wrong.status_code == 401  # a wrong password tells nothing about the organization
    i.client.cookies.clear()
    assert connection["id"] not in _globex_rounds(i)
    acme = i.client.put(
        f"/api/v1/events/{i.acme.ids['event']}/rsvp", json={"status": "tentative"}, headers=i.h(i.acme.tokens["member"])
    )
    assert acme.status_code == 200  # Acme is not affected

    r = i.client.post(f"/api/v1/organizations/{i.globex.id}/enable", headers=i.h(i.operator))
    assert r.status_code == 200 and r.json()["disabled_at"] is None
    assert _globex_as_its_admin(i) == before  # nothing was deleted
    assert connection["id"] in _globex_rounds(i)  # the waiting change syncs now
