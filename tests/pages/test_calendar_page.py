"""Profile → Calendar: connect buttons, status in plain words, the calendar picker, Resync, Disconnect."""

from __future__ import annotations

import re
from html import unescape

import pytest

from calsync.core.connection import ConnectionStatus, Provider
from calsync.core.model import Role
from calsync.providers.config import ProviderConfig
from calsync.services import connections
from calsync.services.auth import principal
from tests.pages.conftest import Site, add_connection, connect_via_sandbox

PROVIDERS = [pytest.param(Provider.GOOGLE, id="google"), pytest.param(Provider.MICROSOFT, id="microsoft")]


def test_without_a_connection_the_page_offers_both_providers(site: Site) -> None:
    """No connection: two connect buttons that start the OAuth flow, and no sync controls."""
    html = site.browser(Role.MEMBER).get("/profile/calendar").text
    assert 'action="/connect/google"' in html and "Connect Google Calendar" in html
    assert 'action="/connect/microsoft"' in html and "Connect Outlook" in html
    assert 'action="/profile/calendar/resync"' not in html and 'action="/profile/calendar/disconnect"' not in html


def test_a_broken_connection_shows_the_reason_and_the_fix(site: Site) -> None:
    """A connection in error says why, the seeds' causes, and to disconnect and reconnect; no Resync."""
    add_connection(
        site.ctx,
        site.person(Role.MEMBER),
        status=ConnectionStatus.ERROR,
        error_reason="Google says calsync's access was revoked.",
    )
    html = unescape(site.browser(Role.MEMBER).get("/profile/calendar").text)
    assert "Your Google Calendar connection has stopped working." in html
    assert "Google says calsync's access was revoked." in html
    assert "you changed your Google password, your IT team revoked" in " ".join(html.split())
    assert "disconnect below, then connect again" in html
    assert 'action="/connect/google"' in html and "Disconnect</button>" in html
    assert "Resync now" not in html


def test_resync_on_a_broken_connection_is_refused_with_the_reason(site: Site) -> None:
    """Resync cannot run on a connection in error: a 409 page repeats the reason."""
    add_connection(
        site.ctx, site.person(Role.MEMBER), status=ConnectionStatus.ERROR, error_reason="The authorization expired."
    )
    response = site.browser(Role.MEMBER).post("/profile/calendar/resync", {}, page="/profile/calendar")
    assert response.status_code == 409 and "The authorization expired." in response.text


def test_status_json_needs_a_session_and_describes_the_connection(site: Site) -> None:
    """The polling endpoint is for the signed-in person only and reports status and pending changes."""
    anonymous = site.browser()
    assert anonymous.get("/profile/calendar/status.json").status_code == 303
    browser = site.browser(Role.MEMBER)
    assert browser.get("/profile/calendar/status.json").json() == {"status": "none"}
    add_connection(site.ctx, site.person(Role.MEMBER), status=ConnectionStatus.ERROR, error_reason="Revoked.")
    body = browser.get("/profile/calendar/status.json").json()
    assert body["status"] == "error" and body["error_reason"] == "Revoked." and body["resync_running"] is False


@pytest.mark.parametrize("provider", PROVIDERS)
def test_connect_pick_resync_and_disconnect_through_the_sandbox(
    live_site: Site, provider_config: ProviderConfig, provider: Provider
) -> None:
    """Connecting through the real flow shows "connected as", the picker, Resync progress and Disconnect."""
    browser = live_site.browser(Role.MEMBER)
    email = live_site.person(Role.MEMBER).email
    done = connect_via_sandbox(browser, provider, provider_config.tls)
    assert done.headers["location"] == "/profile/calendar?done=connected"
    html = unescape(browser.get(done.headers["location"]).text)
    assert "Your calendar is connected." in html
    assert re.search(rf"Connected to <strong>{provider.label}</strong> as <strong>{email}</strong>", html)
    assert 'data-testid="target-form"' in html and "(main)" in html
    assert "Events go to <strong>" in html and "sub-calendar you are not viewing" in html
    assert 'action="/connect/google"' not in html

    target = browser.post("/profile/calendar/target", {"calendar_id": "__dedicated__"}, page="/profile/calendar")
    assert target.status_code == 303
    html = unescape(browser.get(target.headers["location"]).text)
    assert "Saved: new events go to the calendar you picked" in html
    assert "Events go to <strong>Fernhill Studio events</strong>" in html

    resync = browser.post("/profile/calendar/resync", {}, page="/profile/calendar")
    assert resync.headers["location"] == "/profile/calendar?done=resync"
    html = browser.get(resync.headers["location"]).text
    assert "Resync requested" in html and 'data-running="true"' in html
    assert browser.get("/profile/calendar/status.json").json()["resync_running"] is True

    gone = browser.post("/profile/calendar/disconnect", {"remove_entries": "1"}, page="/profile/calendar")
    assert gone.headers["location"] == "/profile/calendar?done=disconnected"
    html = browser.get(gone.headers["location"]).text
    assert "Your calendar is disconnected." in html and "You disconnected" in html
    after = connections.my_connection(live_site.app.state.runtime.calendar, principal(live_site.person(Role.MEMBER)))
    assert after is not None and after.status is ConnectionStatus.DISCONNECTED


def test_an_invalid_calendar_choice_is_a_clear_error(live_site: Site, provider_config: ProviderConfig) -> None:
    """Picking a calendar id the account does not have is a 422 page that says to pick from the list."""
    browser = live_site.browser(Role.MEMBER)
    connect_via_sandbox(browser, Provider.GOOGLE, provider_config.tls)
    response = browser.post("/profile/calendar/target", {"calendar_id": "not-mine"}, page="/profile/calendar")
    assert response.status_code == 422 and "pick one from the list" in response.text
