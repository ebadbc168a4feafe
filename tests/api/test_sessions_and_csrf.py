"""Server-side sessions, changing a password, and CSRF on the API (issue 13), over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from calsync.config import Settings
from calsync.services import auth
from calsync.store.db import Database
from calsync.web.app import create_app
from tests.api.conftest import PASSWORD, Api, error_of

NEW = "violet tandem orchard"


def _set_password(api: Api, who: str) -> None:
    auth.change_password(api.ctx, auth.principal(api.people[who]), current=None, new=PASSWORD, address="setup")


def _signed_in(api: Api, who: str, client: TestClient | None = None) -> tuple[TestClient, str]:
    """A fresh cookie client signed in as ``who``, and the X-CSRF-Token its sign-in returned."""
    client = client or TestClient(api.client.app)
    response = client.post("/api/v1/session", json={"email": api.people[who].email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client, response.headers["x-csrf-token"]


@pytest.fixture
def member(api: Api) -> Api:
    _set_password(api, "member")
    return api


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(member: Api) -> None:
    """The report: after DELETE /api/v1/session the old cookie kept working. Now the session is gone on the server."""
    client, token = _signed_in(member, "member")
    copied = client.cookies["calsync_session"]
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": token}).status_code == 204
    thief = TestClient(member.client.app, cookies={"calsync_session": copied})
    ended = thief.get("/api/v1/people/me")
    assert ended.status_code == 401 and "sign in again" in error_of(ended)["message"]


def test_changing_the_password_needs_the_current_one(member: Api) -> None:
    """Without current_password, or with a wrong one, nothing changes (422 naming the field); a guessable new one is
    refused with what to do; the old password still signs in after all of these."""
    cases = [
        ({"password": NEW}, "current_password", "current_password is required"),
        ({"password": NEW, "current_password": "not it at all"}, "current_password", "not your current password"),
        ({"password": "password1234", "current_password": PASSWORD}, "password", "too easy to guess"),
        ({"password": "max@acme.test 2026!", "current_password": PASSWORD}, "password", "must not contain your email"),
        ({"password": "tiny", "current_password": PASSWORD}, "password", "at least 12 characters"),
    ]
    for body, field, words in cases:
        response = member.patch("member", "/api/v1/people/me", body)
        assert response.status_code == 422, (body, response.text)
        assert error_of(response)["field"] == field and words in error_of(response)["message"], response.text
    _signed_in(member, "member")


def test_a_password_change_ends_every_other_session_and_keeps_the_one_making_it(member: Api) -> None:
    """Changed with the session cookie: that session stays, the person's other sessions end; with a Bearer token,
    every session ends. Only the new password signs in."""
    here, here_token = _signed_in(member, "member")
    there, _ = _signed_in(member, "member")
    changed = here.patch(
        "/api/v1/people/me",
        json={"password": NEW, "current_password": PASSWORD},
        headers={"X-CSRF-Token": here_token},
    )
    assert changed.status_code == 200, changed.text
    assert here.get("/api/v1/people/me").status_code == 200
    assert there.get("/api/v1/people/me").status_code == 401
    old = TestClient(member.client.app).post("/api/v1/session", json={"email": "max@acme.test", "password": PASSWORD})
    assert old.status_code == 401
    by_token = member.patch("member", "/api/v1/people/me", {"password": PASSWORD, "current_password": NEW})
    assert by_token.status_code == 200
    assert here.get("/api/v1/people/me").status_code == 401


def test_wrong_current_passwords_hit_the_sign_in_limiter(member: Api) -> None:
    """Someone holding a session cannot guess the current password without limit: the 6th try is 429."""
    statuses = [
        member.patch(
            "member", "/api/v1/people/me", {"password": NEW, "current_password": f"guess number {i}"}
        ).status_code
        for i in range(6)
    ]
    assert statuses == [422] * 5 + [429]


def test_an_admin_ends_a_persons_sessions(member: Api) -> None:
    """DELETE /api/v1/people/{id}/sessions ends all of them (the count is returned) and leaves API tokens alone;
    an organizer gets 403, another organization's admin 404; anyone can end their own."""
    first, _ = _signed_in(member, "member")
    second, _ = _signed_in(member, "member")
    url = f"/api/v1/people/{member.id('member')}/sessions"
    assert member.delete("organizer", url).status_code == 403
    assert member.delete("other_admin", url).status_code == 404
    assert first.get("/api/v1/people/me").status_code == 200
    ended = member.delete("admin", url)
    assert ended.status_code == 200 and ended.json() == {"ended": 2}
    assert first.get("/api/v1/people/me").status_code == 401 and second.get("/api/v1/people/me").status_code == 401
    assert member.get("member", "/api/v1/people/me").status_code == 200
    third, token = _signed_in(member, "member")
    mine = third.delete("/api/v1/people/me/sessions", headers={"X-CSRF-Token": token})
    assert mine.status_code == 200 and mine.json() == {"ended": 1}
    assert third.get("/api/v1/people/me").status_code == 401


def test_idle_and_absolute_lifetimes_are_settings(member: Api, database: Database, clock: Any, tmp_path: Path) -> None:
    """CALSYNC_SESSION_IDLE_MINUTES=30, CALSYNC_SESSION_MAX_HOURS=2: a session used every 25 minutes lives 2 hours;
    one left alone for 30 minutes ends; the cookie's Max-Age is the lifetime."""
    settings = Settings(data_dir=tmp_path / "short", session_idle_minutes=30, session_max_hours=2)
    app = create_app(settings, database=database, clock=clock)
    busy, _ = _signed_in(member, "member", TestClient(app))
    idle, _ = _signed_in(member, "member", TestClient(app))
    signed = TestClient(app).post("/api/v1/session", json={"email": "max@acme.test", "password": PASSWORD})
    assert "max-age=7200" in signed.headers["set-cookie"].lower()
    for _ in range(4):
        clock.advance(minutes=25)
        assert busy.get("/api/v1/people/me").status_code == 200
    assert idle.get("/api/v1/people/me").status_code == 401  # 100 minutes without use
    clock.advance(minutes=19)
    assert busy.get("/api/v1/people/me").status_code == 200  # 119 minutes after sign-in
    clock.advance(minutes=1)
    assert busy.get("/api/v1/people/me").status_code == 401  # 2 hours: over, however busy


# ---- CSRF --------------------------------------------------------------------------------------------------------


@pytest.fixture
def organizer(api: Api) -> Api:
    _set_password(api, "organizer")
    return api


def _status(api: Api, event_id: int) -> str:
    return str(api.get("organizer", f"/api/v1/events/{event_id}").json()["status"])


def test_a_cross_site_form_cannot_cancel_an_event_with_the_session_cookie(organizer: Api) -> None:
    """The report: a cross-site form POST to /events/{id}/cancel with the organizer's cookie cancelled the event.
    Now a cookie-authenticated unsafe call needs a same-origin Origin or the X-CSRF-Token header."""
    event = organizer.new_event()
    browser, token = _signed_in(organizer, "organizer")
    url = f"/api/v1/events/{event['id']}/cancel"
    evil = browser.post(url, headers={"Origin": "https://evil.example", "Content-Type": "text/plain"}, content="x")
    assert evil.status_code == 403 and "X-CSRF-Token" in error_of(evil)["message"]
    no_origin = browser.post(url)
    assert no_origin.status_code == 403
    forged = browser.post(url, headers={"X-CSRF-Token": "0" * 64})
    assert forged.status_code == 403
    other, other_token = _signed_in(organizer, "organizer")
    assert browser.post(url, headers={"X-CSRF-Token": other_token}).status_code == 403  # another session's token
    null_origin = browser.post(url, headers={"Origin": "null"})
    assert null_origin.status_code == 403
    assert _status(organizer, event["id"]) == "scheduled"
    assert browser.post(url, headers={"X-CSRF-Token": token}).status_code == 200
    assert _status(organizer, event["id"]) == "cancelled"


@pytest.mark.parametrize("origin", ["http://testserver", "http://127.0.0.1:8000"])
def test_a_same_origin_call_needs_no_token(organizer: Api, origin: str) -> None:
    """Calsync's own pages' fetches carry calsync's Origin (the request's own, or the public URL's): accepted."""
    event = organizer.new_event()
    browser, _ = _signed_in(organizer, "organizer")
    answer = browser.put(f"/api/v1/events/{event['id']}/rsvp", json={"status": "accepted"}, headers={"Origin": origin})
    assert answer.status_code == 200, answer.text


def test_safe_methods_and_bearer_tokens_are_unaffected(organizer: Api) -> None:
    """GET with the cookie needs no token; a Bearer call needs none whatever its Origin (browsers never add it)."""
    event = organizer.new_event()
    browser, _ = _signed_in(organizer, "organizer")
    assert browser.get("/api/v1/events", headers={"Origin": "https://evil.example"}).status_code == 200
    cancel = organizer.client.post(
        f"/api/v1/events/{event['id']}/cancel", headers={**organizer.h("organizer"), "Origin": "https://evil.example"}
    )
    assert cancel.status_code == 200


def test_get_session_returns_the_token_for_cookie_clients(organizer: Api) -> None:
    """A cookie client that lost the sign-in header reads the token from GET /api/v1/session; Bearer gets null."""
    browser, token = _signed_in(organizer, "organizer")
    body = browser.get("/api/v1/session").json()
    assert body["csrf_token"] == token and body["person"]["email"] == "olivia@acme.test"
    assert organizer.get("organizer", "/api/v1/session").json()["csrf_token"] is None


def test_cross_site_sign_in_and_sign_out_are_refused(organizer: Api) -> None:
    """Another site cannot sign a browser in to its own account (login CSRF) or sign it out."""
    client = TestClient(organizer.client.app)
    body = {"email": "olivia@acme.test", "password": PASSWORD}
    refused = client.post("/api/v1/session", json=body, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "calsync_session" not in client.cookies
    browser, _ = _signed_in(organizer, "organizer")
    assert browser.delete("/api/v1/session", headers={"Origin": "https://evil.example"}).status_code == 403
    assert browser.get("/api/v1/people/me").status_code == 200


def test_session_ids_are_stored_only_as_hashes_and_the_cookie_is_secure_on_https(
    member: Api, database: Database, clock: Any, tmp_path: Path
) -> None:
    """The database holds the SHA-256 of the session id, never the id; behind https the cookie is Secure, always
    HttpOnly and SameSite=Lax."""
    settings = Settings(data_dir=tmp_path / "https", base_url="https://calsync.example")
    app = create_app(settings, database=database, clock=clock)
    client = TestClient(app, base_url="https://calsync.example")
    signed = client.post("/api/v1/session", json={"email": "max@acme.test", "password": PASSWORD})
    flags = signed.headers["set-cookie"].lower()
    assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags
    session_id = client.cookies["calsync_session"]
    with database.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text("SELECT * FROM web_sessions")).all()]
    assert hashlib.sha256(session_id.encode()).hexdigest() in {r[1] for r in rows}
    assert not any(session_id in str(value) for row in rows for value in row)
