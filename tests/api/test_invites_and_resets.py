"""People brought in without the demo: an admin adds a person, who sets a password through a one-time link
(mailed, or handed to the admin when no mail server is configured); "forgot password" works the same way and
answers the same whether or not the email exists. Links are single use, expire, and a newer one replaces an older
one. Mail goes to a real SMTP server (aiosmtpd) the tests start."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from calsync.config import Settings
from calsync.services import organizations
from calsync.store.account_models import PasswordLinkRow
from calsync.store.db import Database
from calsync.web.app import create_app
from tests.smtp_server import SmtpServer, smtp_server

from .conftest import Api, error_of

NEW = {"email": "nina@acme.test", "name": "Nina", "timezone": "Europe/Paris"}
PASSWORD = "a long enough password"
LINK = re.compile(r"https://calsync\.example/set-password\?token=[A-Za-z0-9_-]+")


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def set_password(client: TestClient, token: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/password/set", json={"token": token, "password": password})


def signs_in(client: TestClient, email: str, password: str = PASSWORD) -> bool:
    response = client.post("/api/v1/session", json={"email": email, "password": password})
    client.cookies.clear()
    return bool(response.status_code == 200)


def test_without_mail_the_admin_gets_the_link_and_the_log_has_it(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """No CALSYNC_SMTP_URL: the 201 answer carries the link (delivery not_configured) and the log has the mail;
    the link sets the password once, and the person then signs in."""
    with caplog.at_level(logging.INFO, logger="calsync.mail"):
        response = api.post("admin", "/api/v1/people", NEW)
    assert response.status_code == 201, response.text
    invitation = response.json()["invitation"]
    assert invitation["delivery"] == "not_configured" and invitation["email"] == NEW["email"]
    assert invitation["url"] in caplog.text
    assert response.json()["has_password"] is False
    token = token_of(invitation["url"])
    assert set_password(api.client, token).status_code == 200
    assert signs_in(api.client, NEW["email"])
    again = set_password(api.client, token, "another long password")
    assert again.status_code == 422 and error_of(again)["field"] == "token"
    assert not signs_in(api.client, NEW["email"], "another long password")


def test_a_person_created_with_a_password_gets_no_link(api: Api) -> None:
    response = api.post("admin", "/api/v1/people", {**NEW, "password": PASSWORD})
    assert response.status_code == 201 and response.json()["invitation"] is None
    with api.ctx.db.session(write=False) as s:
        assert s.scalars(select(PasswordLinkRow)).all() == []


def test_the_link_is_stored_hashed(api: Api) -> None:
    """Only the SHA-256 of the token is stored: the database alone does not hold a working link."""
    url = api.post("admin", "/api/v1/people", NEW).json()["invitation"]["url"]
    with api.ctx.db.session(write=False) as s:
        [row] = s.scalars(select(PasswordLinkRow)).all()
    assert token_of(url) not in row.token_sha256 and len(row.token_sha256) == 64
    assert set_password(api.client, row.token_sha256).status_code == 422


def test_an_expired_link_does_not_work(api: Api, clock: Any) -> None:
    """Invitations last invite_link_hours (72 by default)."""
    url = api.post("admin", "/api/v1/people", NEW).json()["invitation"]["url"]
    clock.advance(hours=72, seconds=1)
    response = set_password(api.client, token_of(url))
    assert response.status_code == 422 and "not valid any more" in error_of(response)["message"]


def test_a_refused_password_does_not_use_up_the_link(api: Api) -> None:
    """The password goes through the one password check first; a short one is refused and the link still works."""
    url = api.post("admin", "/api/v1/people", NEW).json()["invitation"]["url"]
    short = set_password(api.client, token_of(url), "short")
    assert short.status_code == 422 and error_of(short)["field"] == "password"
    assert set_password(api.client, token_of(url)).status_code == 200


def test_a_new_link_replaces_the_old_one(api: Api) -> None:
    """An admin re-sends the link (POST /people/{id}/password-link): only the newest works."""
    created = api.post("admin", "/api/v1/people", NEW).json()
    old = created["invitation"]["url"]
    new = api.post("admin", f"/api/v1/people/{created['id']}/password-link")
    assert new.status_code == 201
    assert set_password(api.client, token_of(old)).status_code == 422
    assert set_password(api.client, token_of(new.json()["url"])).status_code == 200


def test_only_admins_of_the_same_organization_send_links(api: Api) -> None:
    target = api.id("member2")
    assert api.post("organizer", f"/api/v1/people/{target}/password-link").status_code == 403
    assert api.post("other_admin", f"/api/v1/people/{target}/password-link").status_code == 404
    assert api.post("admin", f"/api/v1/people/{target}/password-link").status_code == 201


def test_forgot_password_answers_the_same_and_logs_only_for_a_real_person(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """Known email, unknown email, malformed email: the same 202 and body. Only the known one makes a link."""
    with caplog.at_level(logging.INFO, logger="calsync.mail"):
        answers = [
            api.client.post("/api/v1/password/forgot", json={"email": e})
            for e in ("max@acme.test", "nobody@acme.test", "not-an-email")
        ]
    assert {(r.status_code, r.text) for r in answers} == {(202, answers[0].text)}
    assert caplog.text.count("/set-password?token=") == 1 and "max@acme.test" in caplog.text
    url = re.search(r"http://\S+/set-password\?token=\S+", caplog.text)
    assert url is not None
    assert set_password(api.client, token_of(url.group(0))).status_code == 200
    assert signs_in(api.client, "max@acme.test")


def test_reset_links_expire_after_reset_link_hours(api: Api, clock: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="calsync.mail"):
        api.client.post("/api/v1/password/forgot", json={"email": "max@acme.test"})
    url = re.search(r"http://\S+/set-password\?token=\S+", caplog.text)
    assert url is not None
    clock.advance(hours=1, seconds=1)
    assert set_password(api.client, token_of(url.group(0))).status_code == 422


# ---- with a mail server -------------------------------------------------------------------------------------


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[SmtpServer]:
    with smtp_server(tmp_path, starttls=True) as server:
        yield server


@pytest.fixture
def mailing_client(api: Api, mail: SmtpServer, data_dir: Path, database: Database, clock: Any) -> Iterator[TestClient]:
    """The same database as ``api``, served by an app whose mail goes to the test's SMTP server over STARTTLS."""
    settings = Settings(
        data_dir=data_dir,
        smtp_url=mail.url(starttls="require"),
        mail_from="calsync <calsync@calsync.example>",
        base_url="https://calsync.example",
    )
    with TestClient(create_app(settings, database=database, clock=clock)) as client:
        yield client


def test_with_mail_the_invitation_is_mailed_and_not_returned(
    api: Api, mail: SmtpServer, mailing_client: TestClient
) -> None:
    """CALSYNC_SMTP_URL set: the answer says 'sent' and has no link; the mail has it, and it works."""
    response = mailing_client.post("/api/v1/people", json=NEW, headers=api.h("admin"))
    assert response.status_code == 201, response.text
    invitation = response.json()["invitation"]
    assert invitation["delivery"] == "sent" and invitation["url"] is None
    [got] = mail.inbox.wait_for(1)
    assert got.rcpt_tos == [NEW["email"]] and got.tls and "Acme" in got.message["Subject"]
    link = LINK.search(got.message.get_content())
    assert link is not None
    assert set_password(mailing_client, token_of(link.group(0))).status_code == 200
    assert signs_in(mailing_client, NEW["email"])


def test_forgot_password_mails_only_real_people(api: Api, mail: SmtpServer, mailing_client: TestClient) -> None:
    """The same answer for an unknown email, a known one, and one of a disabled organization; one mail only."""
    globex = api.people["other_admin"].organization_id
    organizations.set_disabled(api.ctx, organizations.Operator(0, "test"), globex, True)
    answers = [
        mailing_client.post("/api/v1/password/forgot", json={"email": e}).text
        for e in ("nobody@acme.test", "admin@globex.test", "mia@acme.test")
    ]
    assert len(set(answers)) == 1
    [got] = mail.inbox.wait_for(1)
    assert got.rcpt_tos == ["mia@acme.test"]
    link = LINK.search(got.message.get_content())
    assert link is not None and set_password(mailing_client, token_of(link.group(0))).status_code == 200


def test_a_failing_mail_server_hands_the_link_to_the_admin(api: Api, data_dir: Path, database: Database) -> None:
    """The mail server is down: the person is still created and the admin gets the link (delivery failed)."""
    settings = Settings(data_dir=data_dir, smtp_url="smtp://127.0.0.1:1?timeout=2")
    with TestClient(create_app(settings, database=database)) as client:
        response = client.post("/api/v1/people", json=NEW, headers=api.h("admin"))
    assert response.status_code == 201
    invitation = response.json()["invitation"]
    assert invitation["delivery"] == "failed" and "127.0.0.1:1" in invitation["detail"] and invitation["url"]


def test_forgot_password_mails_one_link_a_minute_per_person(
    api: Api, clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Anyone may ask, so asking again within a minute sends nothing more (same answer); after it, a new link."""
    with caplog.at_level(logging.INFO, logger="calsync.mail"):
        first = api.client.post("/api/v1/password/forgot", json={"email": "max@acme.test"})
        second = api.client.post("/api/v1/password/forgot", json={"email": "max@acme.test"})
        assert caplog.text.count("/set-password?token=") == 1
        clock.advance(minutes=1)
        api.client.post("/api/v1/password/forgot", json={"email": "max@acme.test"})
    assert first.text == second.text
    assert caplog.text.count("/set-password?token=") == 2
