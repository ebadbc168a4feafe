"""Tokens never in plain text: not in the database (the SQLite file's bytes, every row on either backend), not in
the logs at DEBUG (ours and the OAuth libraries'), not in any API response. Token values are the real ones the
sandbox issued."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from calsync.core.connection import Provider
from calsync.store.connections import ConnectionRepository
from calsync.web.errors import REDACTED, redact
from tests.connections.conftest import World, query_of


def test_no_token_in_the_database_or_the_logs(
    world: World, provider: Provider, snapshot: Callable[[], dict[str, list[tuple[object, ...]]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After connecting, using and refreshing a grant, no issued token, code or state appears in the DB or logs."""
    caplog.set_level(logging.DEBUG)
    browser = world.browser()
    url = world.start(browser, "ann", provider)
    callback = world.authorize(url)
    assert browser.get(callback).status_code == 303
    listed = browser.get("/api/v1/me/calendar/calendars", headers=world.h("ann"))
    assert listed.status_code == 200
    with world.runtime.db.session(write=False) as s:
        record = ConnectionRepository(s).active_for_person(world.people["ann"].id)
    assert record is not None
    fresh, _ = world.runtime.tokens.access_token(record.id, force_refresh=True)
    status = browser.get("/api/v1/me/calendar", headers=world.h("ann"))

    secrets = world.issued_tokens()
    assert fresh in secrets and len(secrets) >= 3  # the values searched for are the ones really in use
    with world.runtime.db.session(write=False) as s:
        stored = ConnectionRepository(s).get(record.id)
    assert stored is not None and stored.access_token_enc and stored.refresh_token_enc
    assert world.runtime.cipher.decrypt(stored.access_token_enc) == fresh  # stored, but sealed

    rows = repr(snapshot())
    leaks = [t for t in secrets if t in rows]
    assert not leaks, "a token is stored in plain text"
    database = make_url(world.runtime.db.url).database
    if world.runtime.db.dialect == "sqlite" and database:
        raw = b"".join(p.read_bytes() for p in Path(database).parent.glob(Path(database).name + "*"))
        assert len(raw) > 10_000
        assert not [t for t in secrets if t.encode() in raw], "a token is in the SQLite file's bytes"

    one_time = [query_of(callback)["code"], query_of(url)["state"], query_of(url)["code_challenge"]]
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert "oauth" in logged.lower()  # the flow was logged at all (DEBUG from the libraries, INFO from us)
    assert not [t for t in secrets if t in logged], "a token reached the logs"
    assert not [v for v in one_time[:2] if v in logged], "the code or the state reached the logs"
    for response in (listed, status):
        assert not [t for t in secrets if t in response.text]


def test_redaction_masks_what_the_libraries_log() -> None:
    """The shapes OAuth libraries log at DEBUG (form bodies, JSON token responses, reprs, headers, URLs) are masked."""
    cases = {
        "Prepared fetch token request body grant_type=authorization_code&code=4/0Ab-cD&client_secret=s3&"
        "code_verifier=v3rifier": ["4/0Ab-cD", "s3&", "v3rifier"],
        'content {"access_token": "ya29.a0Af", "expires_in": 3599, "refresh_token": "1//0gX"}': ["ya29.a0Af", "1//0gX"],
        "{'access_token': 'EwBwA8l6', 'token_type': 'Bearer'}": ["EwBwA8l6"],
        "headers {'Authorization': 'Bearer eyJ0eXAiOi.eyJhdWQiOi.sig'}": ["eyJ0eXAiOi"],
        '"GET /oauth/google/callback?state=St4te&code=C0de&scope=x HTTP/1.1" 303': ["St4te", "C0de"],
    }
    for text, secrets in cases.items():
        clean = redact(text)
        assert REDACTED in clean
        assert not [s for s in secrets if s in clean], clean
    assert redact("status 400 error_code=invalid_grant") == "status 400 error_code=invalid_grant"


def test_redaction_applies_to_every_logger_and_to_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    """Any logger's record (a library's too) and an exception's text are masked once the app is created."""
    from calsync.web.errors import install_log_redaction

    install_log_redaction()
    caplog.set_level(logging.DEBUG)
    logging.getLogger("some.library").debug("token response %s", {"refresh_token": "r-SECRET-1"})
    try:
        raise ValueError("refresh_token=r-SECRET-2 rejected")
    except ValueError:
        logging.getLogger("calsync.test").exception("refresh failed")
    text = caplog.text
    assert "r-SECRET-1" not in text and "r-SECRET-2" not in text and text.count(REDACTED) >= 2
