"""Support's diagnosis page: who may use it, clear errors for bad input, the checks with verdicts and next steps,
and never a token."""

from __future__ import annotations

from html import unescape

import pytest

from calsync.core.connection import Provider
from calsync.core.model import Module, Role
from calsync.providers.config import ProviderConfig
from calsync.services import organizations, people
from calsync.services.demo import DEMO_PASSWORD
from calsync.store.connections import ConnectionRepository
from tests.pages.conftest import Site, connect_via_sandbox


def test_only_support_and_admins_may_diagnose(site: Site) -> None:
    """Support and admins get the form and can run it; organizers and members get 403 for both GET and POST."""
    target = site.person(Role.MEMBER).email
    for role, status in ((Role.SUPPORT, 200), (Role.ADMIN, 200), (Role.ORGANIZER, 403), (Role.MEMBER, 403)):
        browser = site.browser(role)
        page = browser.get("/support")
        assert page.status_code == status, role
        if status == 200:
            assert "Person's email" in unescape(page.text)
            ran = browser.post("/support", {"email": target}, page="/support")
        else:
            assert "Only support staff and administrators" in page.text
            ran = browser.post("/support", {"email": target}, page="/events")
        assert ran.status_code == status, role


def test_unknown_or_foreign_email_is_a_clear_message(site: Site) -> None:
    """An unknown email and one from another organization read the same: a 422 saying no one has that email here."""
    support = site.browser(Role.SUPPORT)
    for email in ("nobody@example.org", site.globex_organizer.email):
        response = support.post("/support", {"email": email}, page="/support")
        html = unescape(response.text)
        assert response.status_code == 422, email
        assert f"No one with the email {email} is in Fernhill Studio. Check the address." in html
        assert 'data-testid="diagnosis"' not in html
    empty = support.post("/support", {"email": ""}, page="/support")
    assert empty.status_code == 422 and "Enter the person&#39;s email address." in empty.text


def test_an_organization_name_ending_in_a_full_stop_gets_no_second_one(site: Site) -> None:
    """"… is in Initech Co.. Check the address." read badly (issue 16, then "Demo Events Co.."): one full stop."""
    initech = organizations.create_organization(site.ctx, "Initech Co.", frozenset({Module.EVENTS}))
    new = people.NewPerson(
        email="peter@initech.test", name="Peter", timezone="UTC", role=Role.SUPPORT, password=DEMO_PASSWORD
    )
    people.register(site.ctx, initech.id, new)
    support = site.browser()
    support.sign_in("peter@initech.test")
    html = unescape(support.post("/support", {"email": "nobody@initech.test"}, page="/support").text)
    assert "No one with the email nobody@initech.test is in Initech Co. Check the address." in html
    assert "Co.." not in html


def test_bad_event_ids_say_what_to_fix(site: Site) -> None:
    """A non-numeric event id and another organization's event are field errors, not a diagnosis."""
    support = site.browser(Role.SUPPORT)
    email = site.person(Role.MEMBER).email
    words = support.post("/support", {"email": email, "event_id": "lunch"}, page="/support")
    assert words.status_code == 422 and "An event id is a number" in words.text
    foreign = support.post("/support", {"email": email, "event_id": str(site.globex_event.id)}, page="/support")
    assert foreign.status_code == 422
    assert f"no event with id {site.globex_event.id} in Fernhill Studio; check the id" in unescape(foreign.text)


def test_a_person_without_a_calendar_gets_the_connect_step(site: Site) -> None:
    """Someone who never connected: the connection check is a problem whose next step is to connect."""
    html = unescape(
        site.browser(Role.ADMIN).post("/support", {"email": site.person(Role.MEMBER).email}, page="/support").text
    )
    assert 'data-testid="check-connection" data-verdict="problem"' in html
    assert "no calendar was ever connected" in html
    assert "Next step:</strong> Connect the calendar in Profile → Calendar" in html
    assert 'data-testid="overall"' in html and "Overall: <strong>Problem</strong>" in html


@pytest.mark.parametrize("provider", [pytest.param(p, id=p.value) for p in Provider])
def test_a_connected_person_and_event_never_show_a_token(
    live_site: Site, provider_config: ProviderConfig, provider: Provider
) -> None:
    """A real connection (sandbox): the token check says it refreshed, the event check runs, and neither the
    access token nor the refresh token appears on the page."""
    member = live_site.person(Role.MEMBER)
    connect_via_sandbox(live_site.browser(Role.MEMBER), provider, provider_config.tls)
    event = live_site.event("Quarterly planning")
    response = live_site.browser(Role.SUPPORT).post(
        "/support", {"email": member.email, "event_id": str(event.id)}, page="/support"
    )
    html = unescape(response.text)
    assert response.status_code == 200
    assert 'data-testid="check-token" data-verdict="ok"' in html
    assert 'data-testid="check-event"' in html and 'data-testid="check-rsvp"' in html
    runtime = live_site.app.state.runtime
    with runtime.db.session(write=False) as session:
        record = ConnectionRepository(session).active_for_person(member.id)
    assert record is not None
    access, _ = runtime.calendar.tokens.access_token(record.id)
    assert access and access not in html, "the access token is never shown"
    assert "refresh_token" not in html.lower()
