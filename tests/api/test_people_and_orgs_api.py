"""Organizations, modules, people, tokens and the session cookie through the API."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from calsync.config import Settings
from calsync.errors import ConfigurationError
from calsync.web.app import create_app

from .conftest import Api, error_of


def test_my_organization_and_modules(api: Api) -> None:
    """Everyone reads their organization; only admins switch modules; an unknown module is 422."""
    org = api.get("member", "/api/v1/organizations/me").json()
    assert org["name"] == "Acme" and org["modules"] == {"events": True}
    denied = api.put("organizer", "/api/v1/organizations/me/modules/events", {"enabled": False})
    assert denied.status_code == 403 and error_of(denied)["code"] == "permission_denied"
    off = api.put("admin", "/api/v1/organizations/me/modules/events", {"enabled": False}).json()
    assert off["modules"] == {"events": False}
    assert api.get("other_admin", "/api/v1/organizations/me").json()["modules"] == {"events": True}
    unknown = api.put("admin", "/api/v1/organizations/me/modules/payroll", {"enabled": True})
    assert unknown.status_code == 422 and "module" in error_of(unknown)["message"]


def test_admin_creates_people_and_conflicts_are_409(api: Api, snapshot: Any) -> None:
    """An admin adds a person; a taken email is 409, a bad email or zone 422, a non-admin 403; none store anything."""
    created = api.post("admin", "/api/v1/people", {"email": "New@Acme.test", "name": "New", "timezone": "Asia/Tokyo"})
    assert created.status_code == 201
    assert (created.json()["email"], created.json()["role"]) == ("new@acme.test", "member")
    before = snapshot()
    cases = [
        ("admin", {"email": "max@acme.test", "name": "Dup", "timezone": "UTC"}, 409, "already registered"),
        ("admin", {"email": "not-an-email", "name": "X", "timezone": "UTC"}, 422, "not an email address"),
        ("admin", {"email": "x@acme.test", "name": "X", "timezone": "Moon/Base"}, 422, "not a known IANA"),
        ("admin", {"email": "x@acme.test", "name": "X", "timezone": "UTC", "role": "boss"}, 422, "role:"),
        ("admin", {"email": "x@acme.test", "name": "X", "timezone": "UTC", "password": "short"}, 422, "at least 12"),
        ("organizer", {"email": "x@acme.test", "name": "X", "timezone": "UTC"}, 403, "only administrators"),
    ]
    for who, body, status, words in cases:
        response = api.post(who, "/api/v1/people", body)
        assert response.status_code == status, (body, response.text)
        assert words in error_of(response)["message"]
    assert snapshot() == before


def test_people_listing_by_role_and_across_organizations(api: Api) -> None:
    """Admins, organizers and support list their organization; members may not; other organizations are 404."""
    for who in ("admin", "organizer", "support"):
        emails = {p["email"] for p in api.get(who, "/api/v1/people").json()}
        assert "max@acme.test" in emails and "admin@globex.test" not in emails
    assert api.get("member", "/api/v1/people").status_code == 403
    assert api.get("member", f"/api/v1/people/{api.id('member')}").status_code == 200
    assert api.get("member", f"/api/v1/people/{api.id('member2')}").status_code == 403
    assert api.get("admin", f"/api/v1/people/{api.id('other_admin')}").status_code == 404


def test_me_and_changing_my_zone(api: Api) -> None:
    """I can read myself and change my zone; my earlier zone-less events stay where they were."""
    event = api.new_event()
    me = api.get("organizer", "/api/v1/people/me").json()
    assert me["email"] == "olivia@acme.test" and me["timezone"] == "America/New_York"
    assert api.patch("organizer", "/api/v1/people/me", {"timezone": "Asia/Tokyo"}).json()["timezone"] == "Asia/Tokyo"
    again = api.get("organizer", f"/api/v1/events/{event['id']}").json()
    assert (again["timezone"], again["start_utc"]) == ("America/New_York", event["start_utc"])
    bad = api.patch("organizer", "/api/v1/people/me", {"timezone": "Not/AZone"})
    assert bad.status_code == 422 and error_of(bad)["field"] == "timezone"


def test_tokens_are_shown_once_and_work(api: Api) -> None:
    """A new token is returned once, works as a bearer token, is listed without its secret and can be revoked."""
    issued = api.post("member", "/api/v1/people/me/tokens", {"label": "laptop"})
    assert issued.status_code == 201
    secret = issued.json()["token"]
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.client.get("/api/v1/people/me", headers=headers).json()["email"] == "max@acme.test"
    listed = api.get("member", "/api/v1/people/me/tokens").json()
    assert "laptop" in [t["label"] for t in listed] and all("token" not in t for t in listed)
    assert api.delete("member", f"/api/v1/people/me/tokens/{issued.json()['id']}").status_code == 204
    assert api.client.get("/api/v1/people/me", headers=headers).status_code == 401
    for_other = api.post("admin", f"/api/v1/people/{api.id('member2')}/tokens")
    assert for_other.status_code == 201 and for_other.json()["person_id"] == api.id("member2")
    assert api.post("organizer", f"/api/v1/people/{api.id('member2')}/tokens").status_code == 403
    assert api.post("admin", f"/api/v1/people/{api.id('other_admin')}/tokens").status_code == 404


def test_session_cookie_sign_in_use_and_sign_out(api: Api) -> None:
    """Sign-in sets an HttpOnly cookie that authenticates; wrong passwords are 401; sign-out and a new password
    end it."""
    assert api.patch("member", "/api/v1/people/me", {"password": "first password"}).status_code == 200
    client = api.client
    wrong = client.post("/api/v1/session", json={"email": "max@acme.test", "password": "nope nope"})
    assert wrong.status_code == 401 and error_of(wrong)["message"] == "email or password is wrong"
    signed = client.post("/api/v1/session", json={"email": "MAX@acme.test", "password": "first password"})
    assert signed.status_code == 200 and signed.json()["email"] == "max@acme.test"
    set_cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    assert client.get("/api/v1/people/me").json()["email"] == "max@acme.test"
    token = signed.headers["x-csrf-token"]
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": token}).status_code == 204
    assert client.get("/api/v1/people/me").status_code == 401
    client.post("/api/v1/session", json={"email": "max@acme.test", "password": "first password"})
    assert client.get("/api/v1/people/me").status_code == 200
    changed = api.patch(
        "member", "/api/v1/people/me", {"password": "second password", "current_password": "first password"}
    )
    assert changed.status_code == 200, changed.text
    ended = client.get("/api/v1/people/me")
    assert ended.status_code == 401 and "sign in again" in error_of(ended)["message"]
    client.cookies.set("calsync_session", "forged.value.here")
    assert client.get("/api/v1/people/me").status_code == 401


def test_session_key_file_is_owner_only(api: Api, data_dir: Path) -> None:
    """The key the CSRF tokens are derived from is created in the data directory with mode 0600."""
    mode = stat.S_IMODE((data_dir / "session.key").stat().st_mode)
    assert mode == 0o600


def test_a_session_key_readable_by_others_is_refused(data_dir: Path, database: Any) -> None:
    """If the key file's mode lets others read it, the app refuses to start and says how to fix it."""
    key = data_dir / "session.key"
    key.write_text("x" * 64 + "\n")
    key.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        create_app(Settings(data_dir=data_dir), database=database)
