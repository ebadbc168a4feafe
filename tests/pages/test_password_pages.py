"""The forgot-password and set-password pages: a person asks for a link on the page, the mail (a real SMTP
server) carries it, the set-password page consumes it once, and the person signs in with the new password
through the sign-in form. The forgot page answers the same for an unknown email; the set page leaks its token
to no other site (Referrer-Policy: no-referrer)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from calsync.config import Settings
from calsync.core.model import Role
from calsync.services.context import ServiceContext
from calsync.services.demo import seed_demo
from calsync.store.db import Database
from calsync.web.app import create_app
from tests.smtp_server import SmtpServer, smtp_server

from .conftest import Browser

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"http://127\.0\.0\.1:8000(/set-password\?token=[A-Za-z0-9_-]+)")


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[SmtpServer]:
    with smtp_server(tmp_path) as server:
        yield server


@pytest.fixture
def browser_and_demo(database: Database, clock: Any, data_dir: Path, mail: SmtpServer) -> Iterator[tuple[Browser, Any]]:
    demo = seed_demo(ServiceContext(db=database, clock=clock))
    settings = Settings(data_dir=data_dir, smtp_url=mail.url(starttls="never"))
    with TestClient(create_app(settings, database=database, clock=clock)) as client:
        yield Browser(client), demo


def test_forgot_then_set_password_then_sign_in(browser_and_demo: tuple[Browser, Any], mail: SmtpServer) -> None:
    browser, demo = browser_and_demo
    email = demo.login(Role.MEMBER).person.email
    assert 'href="/forgot-password"' in browser.get("/signin").text
    sent = browser.post("/forgot-password", {"email": email}, page="/forgot-password")
    assert sent.status_code == 200 and 'data-testid="forgot-sent"' in sent.text
    [got] = mail.inbox.wait_for(1)
    link = LINK.search(got.message.get_content())
    assert link is not None
    page = browser.get(link.group(1))
    assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
    token = link.group(1).rpartition("token=")[2]
    differ = browser.post(
        "/set-password", {"token": token, "password": NEW_PASSWORD, "confirm": "something else"}, page=link.group(1)
    )
    assert differ.status_code == 422 and "differ" in differ.text
    done = browser.post(
        "/set-password", {"token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, page=link.group(1)
    )
    assert done.status_code == 303 and done.headers["location"] == "/signin"
    browser.sign_in(email, NEW_PASSWORD)
    assert browser.get("/events").status_code == 200
    again = browser.post(
        "/set-password", {"token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, page=link.group(1)
    )
    assert again.status_code == 400 and "not valid any more" in again.text


def test_the_forgot_page_answers_the_same_for_an_unknown_email(
    browser_and_demo: tuple[Browser, Any], mail: SmtpServer
) -> None:
    browser, demo = browser_and_demo
    unknown = browser.post("/forgot-password", {"email": "nobody@nowhere.test"}, page="/forgot-password")
    known = browser.post("/forgot-password", {"email": demo.login(Role.ADMIN).person.email}, page="/forgot-password")
    strip = re.compile(r'name="csrf_token" value="[0-9a-f]+"')
    assert (unknown.status_code, strip.sub("", unknown.text)) == (known.status_code, strip.sub("", known.text))
    assert [r.rcpt_tos for r in mail.inbox.wait_for(1)] == [[demo.login(Role.ADMIN).person.email]]


def test_the_forgot_form_needs_its_csrf_token(browser_and_demo: tuple[Browser, Any], mail: SmtpServer) -> None:
    browser, demo = browser_and_demo
    r = browser.post(
        "/forgot-password", {"email": demo.login(Role.ADMIN).person.email}, page="/forgot-password", token="0" * 64
    )
    assert r.status_code == 403 and mail.inbox.received == []


def test_the_set_page_without_a_token_points_to_the_forgot_page(browser_and_demo: tuple[Browser, Any]) -> None:
    browser, _ = browser_and_demo
    page = browser.get("/set-password")
    assert page.status_code == 200 and 'href="/forgot-password"' in page.text
