"""Sign-in, sign-out, sessions and CSRF on the pages."""

from __future__ import annotations

import pytest

from calsync.core.model import Role
from calsync.services.demo import DEMO_PASSWORD
from calsync.web.sessions import COOKIE
from tests.pages.conftest import Site


def test_anonymous_pages_redirect_to_sign_in_and_back(site: Site) -> None:
    """A page asked for without a session sends the browser to sign in, then back to that page."""
    browser = site.browser()
    response = browser.get("/profile/calendar")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Fprofile%2Fcalendar"
    signed = browser.post(
        "/signin",
        {"email": site.person(Role.MEMBER).email, "password": DEMO_PASSWORD, "next": "/profile/calendar"},
        page="/signin",
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/profile/calendar"
    assert browser.get("/profile/calendar").status_code == 200


def test_sign_in_sets_the_session_cookie_the_api_accepts(site: Site) -> None:
    """The session cookie from the sign-in form authenticates the REST API as well."""
    browser = site.browser(Role.MEMBER)
    me = browser.client.get("/api/v1/people/me")
    assert me.status_code == 200 and me.json()["email"] == site.person(Role.MEMBER).email


def test_wrong_password_says_so_without_saying_which(site: Site) -> None:
    """A wrong password and an unknown email get the same message and no session."""
    browser = site.browser()
    wrong = browser.post("/signin", {"email": "max@example.org", "password": "nope"}, page="/signin")
    unknown = browser.post("/signin", {"email": "nobody@example.org", "password": "nope"}, page="/signin")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "The email or password is wrong" in response.text
    assert COOKIE not in browser.client.cookies


def test_sign_in_issues_a_fresh_session_value(site: Site) -> None:
    """A session cookie planted before sign-in is replaced at sign-in (no session fixation)."""
    attacker = site.browser(Role.MEMBER)
    planted = next(c for c in attacker.client.cookies.jar if c.name == COOKIE)
    victim = site.browser()
    victim.client.cookies.set(COOKIE, planted.value, domain=planted.domain)
    assert victim.client.cookies[COOKIE] == planted.value
    victim.sign_in(site.person(Role.ORGANIZER).email)
    assert victim.client.cookies[COOKIE] != planted.value
    assert "Olivia Bennett" in victim.get("/events").text


def test_sign_out_ends_the_session_on_the_server(site: Site) -> None:
    """Signing out clears the cookie and ends the session itself: a copy of the old cookie (another tab, a thief)
    no longer works on the pages or the API."""
    browser = site.browser(Role.MEMBER)
    copied = browser.client.cookies[COOKIE]
    response = browser.post("/signout", {})
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert COOKIE not in browser.client.cookies
    assert browser.get("/events").status_code == 303
    thief = site.browser()
    thief.client.cookies.set(COOKIE, copied)
    assert thief.get("/events").status_code == 303
    assert thief.client.get("/api/v1/people/me").status_code == 401


@pytest.mark.parametrize("token", ["", "0" * 64, None], ids=["empty", "wrong", "missing"])
def test_post_without_a_valid_csrf_token_is_refused(site: Site, token: str | None) -> None:
    """An RSVP form posted with a missing or wrong CSRF token is a 403 page and changes nothing."""
    browser = site.browser(Role.MEMBER)
    event = site.event("Team lunch in Tokyo")
    data = {"status": "accepted"} if token is None else {"status": "accepted", "csrf_token": token}
    response = browser.client.post(f"/events/{event.id}/rsvp", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "did not come from a calsync page" in response.text
    assert "No answer yet" in browser.get("/events").text.split(f'data-testid="answer-{event.id}">')[1][:20]


def test_csrf_token_of_another_browser_is_refused(site: Site) -> None:
    """A token taken from another person's page does not work in this browser (it is bound to the session)."""
    mine = site.browser(Role.MEMBER)
    theirs = site.browser(Role.ADMIN)
    stolen = theirs.token("/events")
    response = mine.post("/signout", {}, token=stolen)
    assert response.status_code == 403


def test_sign_in_form_needs_its_csrf_token(site: Site) -> None:
    """The sign-in form itself is protected (login CSRF): without the token nobody is signed in."""
    browser = site.browser()
    response = browser.client.post(
        "/signin", data={"email": "max@example.org", "password": DEMO_PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403 and COOKIE not in browser.client.cookies


def test_tokens_change_at_sign_in(site: Site) -> None:
    """A form token from before sign-in is not accepted after it (the binding and the session both changed)."""
    browser = site.browser()
    before = browser.token("/signin")
    browser.sign_in("max@example.org")
    assert browser.post("/signout", {}, token=before).status_code == 403


def test_next_never_leaves_the_site(site: Site) -> None:
    """A crafted ``next`` pointing at another site is replaced by the events page."""
    browser = site.browser()
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = browser.post(
            "/signin", {"email": "max@example.org", "password": DEMO_PASSWORD, "next": target}, page="/signin"
        )
        assert response.headers["location"] == "/events", target
        browser.client.cookies.clear()


def test_five_failures_lock_that_email_from_that_address(site: Site, clock) -> None:
    """After 5 wrong passwords for one email from one address, even the right one is refused for 5 minutes."""
    browser = site.browser(client="198.51.100.7")
    for _ in range(4):
        assert (
            browser.post("/signin", {"email": "max@example.org", "password": "wrong"}, page="/signin").status_code
            == 401
        )
    fifth = browser.post("/signin", {"email": "max@example.org", "password": "wrong"}, page="/signin")
    assert "Too many sign-in attempts. Try again in 5 minutes." in fifth.text
    locked = browser.post("/signin", {"email": "max@example.org", "password": DEMO_PASSWORD}, page="/signin")
    assert locked.status_code == 429 and "Try again in 5 minutes" in locked.text
    # another address, and another email from this address, are not affected
    site.browser(client="203.0.113.9").sign_in("max@example.org")
    browser.sign_in("mia@example.org")
    browser.client.cookies.clear()
    clock.advance(minutes=3)
    again = browser.post("/signin", {"email": "max@example.org", "password": DEMO_PASSWORD}, page="/signin")
    assert again.status_code == 429 and "Try again in 2 minutes" in again.text
    clock.advance(minutes=2)
    browser.sign_in("max@example.org")


def test_pages_cannot_be_framed_or_cached(site: Site) -> None:
    """Pages refuse framing (no clickjacking of their buttons) and shared caching (they show personal state)."""
    response = site.browser(Role.MEMBER).get("/events")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert response.headers["cache-control"] == "no-store"
