"""Profile → Password, Admin → Sessions, and starting a calendar connection only by a POST with the CSRF token."""

from __future__ import annotations

from html import unescape

import httpx

from calsync.core.connection import Provider
from calsync.core.model import Role
from calsync.providers.config import ProviderConfig
from calsync.services import connections, people
from calsync.services.auth import principal
from calsync.services.demo import DEMO_PASSWORD
from calsync.web.routes.oauth import BINDING_COOKIE
from calsync.web.sessions import COOKIE
from tests.pages.conftest import Site, connect_via_sandbox

NEW = "violet tandem orchard"


def _change(browser, current: str, new: str, again: str | None = None) -> httpx.Response:  # type: ignore[no-untyped-def]
    return browser.post(  # type: ignore[no-any-return]
        "/profile/password",
        {"current_password": current, "new_password": new, "confirm_password": new if again is None else again},
        page="/profile/password",
    )


def test_changing_the_password_needs_the_current_one_and_a_good_new_one(site: Site) -> None:
    """Wrong current password, two different new ones, a guessable one or one built on the email are each refused
    with a message that says what to do, and the old password still works afterwards."""
    browser = site.browser(Role.MEMBER)
    cases = [
        (("not my password", NEW), "error-current_password", "not your current password"),
        ((DEMO_PASSWORD, NEW, NEW + "x"), "error-confirm_password", "not the same"),
        ((DEMO_PASSWORD, "password1234"), "error-new_password", "too easy to guess"),
        ((DEMO_PASSWORD, "short"), "error-new_password", "at least 12 characters"),
        ((DEMO_PASSWORD, "max@example.org-2026!"), "error-new_password", "must not contain your email"),
        ((DEMO_PASSWORD, "Max Tanaka rocks 99"), "error-new_password", "your name"),
    ]
    for args, testid, words in cases:
        response = _change(browser, *args)
        assert response.status_code == 422, (args, response.text[:300])
        text = unescape(response.text)
        assert f'data-testid="{testid}"' in text and words in text, (args, words)
    assert site.browser().sign_in("max@example.org", DEMO_PASSWORD).status_code == 303


def test_a_password_change_ends_every_other_session_and_keeps_this_one(site: Site) -> None:
    """After the change this browser stays signed in, another browser (and its API cookie) is signed out, and only
    the new password signs in."""
    here, there = site.browser(Role.MEMBER), site.browser(Role.MEMBER)
    done = _change(here, DEMO_PASSWORD, NEW)
    assert done.status_code == 303 and done.headers["location"] == "/profile/password?done=changed"
    assert "You were signed out everywhere else" in here.client.get(done.headers["location"]).text
    assert here.get("/events").status_code == 200
    assert there.get("/events").status_code == 303
    assert there.client.get("/api/v1/people/me").status_code == 401
    wrong = site.browser().post("/signin", {"email": "max@example.org", "password": DEMO_PASSWORD}, page="/signin")
    assert wrong.status_code == 401
    site.browser().sign_in("max@example.org", NEW)


def test_an_admin_signs_a_person_out_everywhere(site: Site) -> None:
    """Admin → Sessions lists people with their live sessions; ending them signs the person out of every browser
    (API tokens are untouched); members and support get 403; another organization's person is 404."""
    member = site.person(Role.MEMBER)
    browsers = [site.browser(Role.MEMBER), site.browser(Role.MEMBER)]
    admin = site.browser(Role.ADMIN)
    page = admin.get("/admin/sessions")
    assert page.status_code == 200 and f'data-testid="session-count-{member.id}">2 browsers' in page.text
    assert 'href="/admin/sessions"' in admin.get("/admin").text
    ended = admin.post(f"/admin/sessions/{member.id}/end", page="/admin/sessions")
    assert ended.status_code == 303 and ended.headers["location"] == f"/admin/sessions?ended={member.id}"
    assert "Max Tanaka was signed out everywhere." in admin.get(ended.headers["location"]).text
    for browser in browsers:
        assert browser.get("/events").status_code == 303
    token = site.demo.login(Role.MEMBER).token
    assert (
        site.browser().client.get("/api/v1/people/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    assert admin.get("/events").status_code == 200  # the admin's own session is untouched
    for role in (Role.MEMBER, Role.SUPPORT):
        other = site.browser(role)
        assert other.get("/admin/sessions").status_code == 403
        target = site.person(Role.ORGANIZER).id
        assert other.post(f"/admin/sessions/{target}/end", page="/events").status_code == 403
    assert admin.post(f"/admin/sessions/{site.globex_organizer.id}/end", page="/admin/sessions").status_code == 404
    assert site.globex().get("/events").status_code == 200


def test_a_cross_site_link_or_form_cannot_switch_the_calendar(live_site: Site, provider_config: ProviderConfig) -> None:
    """The attack: a signed-in person with Google connected follows another site's link to /connect/microsoft, or
    that site auto-submits a form to it. Neither starts a flow (no OAuth binding cookie, no redirect to Microsoft)
    and Google stays connected; the page's own button (POST with the token) still works."""
    browser = live_site.browser(Role.MEMBER)
    connect_via_sandbox(browser, Provider.GOOGLE, provider_config.tls)
    person = principal(live_site.person(Role.MEMBER))
    cc = live_site.app.state.runtime.calendar

    link = browser.get("/connect/microsoft")
    assert link.status_code == 303 and link.headers["location"] == "/profile/calendar"
    forged = browser.client.post("/connect/microsoft", data={}, follow_redirects=False)
    assert forged.status_code == 403 and "did not come from a calsync page" in forged.text
    wrong = browser.client.post("/connect/microsoft", data={"csrf_token": "0" * 64}, follow_redirects=False)
    assert wrong.status_code == 403
    for response in (link, forged, wrong):
        assert BINDING_COOKIE not in response.headers.get("set-cookie", "")
    mine = connections.my_connection(cc, person)
    assert mine is not None and mine.provider is Provider.GOOGLE and mine.status.value == "connected"

    pressed = browser.post("/connect/microsoft", page="/profile/calendar")
    assert pressed.status_code == 303 and BINDING_COOKIE in pressed.headers.get("set-cookie", "")
    assert COOKIE in browser.client.cookies


def test_names_are_escaped_on_the_sessions_page(site: Site) -> None:
    """A person whose name is markup is shown as text, never run as a script (Jinja2 autoescape)."""
    people.register(
        site.ctx,
        site.demo.organization.id,
        people.NewPerson(
            email="x@example.org", name='<img src=x onerror="alert(1)">', timezone="UTC", role=Role.MEMBER
        ),
    )
    html = site.browser(Role.ADMIN).get("/admin/sessions").text
    assert "<img src=x" not in html and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
