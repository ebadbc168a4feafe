"""Hostile input on the pages (issue 13): a page answers a page with the error (never the API's JSON), on SQLite
and PostgreSQL, and nothing is stored.

Before: a NUL in the sign-in form's email was a 500 on PostgreSQL, answered as JSON by the API's handler.
"""

from __future__ import annotations

from typing import Any

import pytest

from calsync.core.model import Role

from .conftest import Site


def _is_page(response: Any) -> bool:
    return response.headers["content-type"].startswith("text/html") and "<html" in response.text


@pytest.mark.parametrize("email", ["max\x00@example.org", "max\x07@example.org", "\x00"])
def test_sign_in_with_a_control_character_is_the_sign_in_page(site: Site, email: str) -> None:
    """The sign-in form with a NUL or control character in the email: the form again, with the usual message."""
    browser = site.browser()
    response = browser.post("/signin", {"email": email, "password": "whatever-long"}, page="/signin")
    assert response.status_code == 401, response.text[:300]
    assert _is_page(response) and "The email or password is wrong" in response.text


@pytest.mark.parametrize(
    ("title", "words"),
    [("Retro\x00", "NUL character (U+0000)"), ("Retro\x1b[2J", "control character U+001B")],
    ids=["NUL", "escape"],
)
def test_event_form_with_control_characters_shows_the_field_error(
    site: Site, snapshot: Any, title: str, words: str
) -> None:
    browser = site.browser(Role.ORGANIZER)
    before = snapshot()
    response = browser.post(
        "/events/new", {"title": title, "start": "2026-03-10T09:00", "end": "2026-03-10T10:00"}, page="/events/new"
    )
    assert response.status_code == 422 and _is_page(response)
    assert 'data-testid="error-title"' in response.text and words in response.text
    assert snapshot() == before


def test_oversized_and_nul_urls_on_pages_are_pages(site: Site, snapshot: Any) -> None:
    """The request limits answer a browser with a page: 413 for a body over the limit, 422 for a NUL in the URL."""
    browser = site.browser(Role.ORGANIZER)
    before = snapshot()
    html = {"accept": "text/html,application/xhtml+xml"}
    big = browser.post("/events/new", {"title": "x" * 1_100_000}, page="/events/new", headers=html)
    assert big.status_code == 413 and _is_page(big) and "larger than 1000000 bytes" in big.text
    nul = browser.get("/events?from=%00", headers=html)
    assert nul.status_code == 422 and _is_page(nul) and "NUL" in nul.text
    assert snapshot() == before
