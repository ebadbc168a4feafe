"""RSVPs, people, tokens and sign-in through calsync.services on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from calsync.core.model import Role, RsvpSource, RsvpStatus
from calsync.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from calsync.services import auth, events, people, rsvps
from calsync.services.context import ServiceContext
from calsync.services.demo import DEMO_PASSWORD, seed_demo
from calsync.services.events import EventDraft

from .conftest import World

ADDRESS = "192.0.2.10"


def make_event(ctx: ServiceContext, world: World) -> int:
    return events.create_event(
        ctx, world.organizer, EventDraft(title="E", start=dt.datetime(2026, 3, 10, 9), end=dt.datetime(2026, 3, 10, 10))
    ).id


def test_answering_creates_then_updates_the_rsvp_with_its_own_version(ctx: ServiceContext, world: World, clock) -> None:  # type: ignore[no-untyped-def]
    """A first answer creates the RSVP (source platform); a different answer bumps its version; the same one doesn't."""
    event_id = make_event(ctx, world)
    first = rsvps.answer(ctx, world.member, event_id, RsvpStatus.ACCEPTED)
    assert (first.status, first.source, first.version) == (RsvpStatus.ACCEPTED, RsvpSource.PLATFORM, 1)
    clock.advance(minutes=1)
    second = rsvps.answer(ctx, world.member, event_id, RsvpStatus.DECLINED)
    assert (second.status, second.version, second.updated_at) == (RsvpStatus.DECLINED, 2, clock.now)
    assert rsvps.answer(ctx, world.member, event_id, RsvpStatus.DECLINED).version == 2
    assert rsvps.my_rsvp(ctx, world.member, event_id) == second
    assert events.get_event(ctx, world.member, event_id).version == 1


def test_needs_action_is_not_an_answer(ctx: ServiceContext, world: World) -> None:
    """A person cannot answer needs_action; the message says which states they can choose."""
    event_id = make_event(ctx, world)
    with pytest.raises(InvalidInput, match="accepted, tentative or declined"):
        rsvps.answer(ctx, world.member, event_id, RsvpStatus.NEEDS_ACTION)


def test_no_rsvp_yet_is_not_found_with_the_fix(ctx: ServiceContext, world: World) -> None:
    """Reading an RSVP you do not have says how to answer."""
    event_id = make_event(ctx, world)
    with pytest.raises(NotFound, match="PUT /api/v1/events"):
        rsvps.my_rsvp(ctx, world.member, event_id)


def test_my_rsvps_lists_answers_with_their_events(ctx: ServiceContext, world: World) -> None:
    """My RSVPs come with their events, earliest first, and only mine."""
    event_id = make_event(ctx, world)
    events.invite(ctx, world.organizer, event_id, [world.member.person_id, world.member2.person_id])
    mine = rsvps.my_rsvps(ctx, world.member)
    assert [(r.person_id, e.id) for r, e in mine] == [(world.member.person_id, event_id)]
    assert rsvps.my_rsvps(ctx, world.member, after=dt.datetime(2026, 4, 1, tzinfo=dt.UTC)) == []


def test_event_rsvps_are_for_organizer_admin_and_support(ctx: ServiceContext, world: World) -> None:
    """The RSVP list is readable by the organizer, admins and support, not by members or other organizers."""
    event_id = make_event(ctx, world)
    events.invite(ctx, world.organizer, event_id, [world.member.person_id])
    for actor in (world.organizer, world.admin, world.support):
        assert [r.person_id for r in rsvps.event_rsvps(ctx, actor, event_id)] == [world.member.person_id]
    for actor in (world.member, world.organizer2):
        with pytest.raises(PermissionDenied):
            rsvps.event_rsvps(ctx, actor, event_id)
    with pytest.raises(NotFound):
        rsvps.event_rsvps(ctx, world.other_admin, event_id)


def test_concurrent_answers_never_lose_a_version(ctx: ServiceContext, world: World) -> None:
    """Many threads flipping one RSVP at once end with one row whose version counts every real change."""
    event_id = make_event(ctx, world)
    rsvps.answer(ctx, world.member, event_id, RsvpStatus.ACCEPTED)
    states = [RsvpStatus.DECLINED, RsvpStatus.ACCEPTED] * 5
    errors: list[BaseException] = []

    def flip(status: RsvpStatus) -> None:
        try:
            rsvps.answer(ctx, world.member, event_id, status)
        except BaseException as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=flip, args=(s,)) for s in states]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == [] and not any(t.is_alive() for t in threads)
    (only,) = rsvps.event_rsvps(ctx, world.organizer, event_id)
    assert 1 <= only.version <= 1 + len(states)


def test_emails_are_unique_across_organizations_case_insensitively(ctx: ServiceContext, world: World) -> None:
    """A second person with the same email, in any organization and any case, is a conflict."""
    with pytest.raises(Conflict, match="already registered"):
        people.create_person(ctx, world.other_admin, people.NewPerson(email="MAX@acme.test", name="X", timezone="UTC"))


def test_only_admins_create_people_and_bad_zones_are_refused(ctx: ServiceContext, world: World) -> None:
    """Non-admins cannot add people; an unknown zone is refused on the timezone field."""
    new = people.NewPerson(email="new@acme.test", name="New", timezone="UTC")
    with pytest.raises(PermissionDenied):
        people.create_person(ctx, world.organizer, new)
    with pytest.raises(InvalidInput) as err:
        people.create_person(ctx, world.admin, people.NewPerson(email="n@acme.test", name="N", timezone="Mars/Base"))
    assert err.value.field == "timezone"
    created = people.create_person(ctx, world.admin, new)
    assert created.role is Role.MEMBER and created.organization_id == world.org.id


def test_tokens_authenticate_and_are_stored_only_as_hashes(ctx: ServiceContext, world: World, snapshot) -> None:  # type: ignore[no-untyped-def]
    """A new token authenticates its person; the database holds its SHA-256, never the secret."""
    issued = auth.issue_token(ctx, world.member, world.member.person_id, "laptop")
    assert auth.authenticate_token(ctx, issued.secret) == world.member
    rows = snapshot()["api_tokens"]
    assert all(issued.secret not in map(str, row) for row in rows)
    assert any(auth.token_digest(issued.secret) in row for row in rows)
    with pytest.raises(NotAuthenticated):
        auth.authenticate_token(ctx, issued.secret + "x")
    auth.revoke_token(ctx, world.member, issued.info.id)
    with pytest.raises(NotAuthenticated):
        auth.authenticate_token(ctx, issued.secret)


def test_only_admins_issue_tokens_for_others(ctx: ServiceContext, world: World) -> None:
    """An admin can make a token for a person of their organization; others cannot; other organizations are 404."""
    issued = auth.issue_token(ctx, world.admin, world.member.person_id, "for max")
    assert auth.authenticate_token(ctx, issued.secret).person_id == world.member.person_id
    with pytest.raises(PermissionDenied):
        auth.issue_token(ctx, world.organizer, world.member.person_id, "x")
    with pytest.raises(NotFound):
        auth.issue_token(ctx, world.admin, world.other_admin.person_id, "x")


def test_sign_in_checks_the_password_and_a_new_password_ends_other_sessions(ctx: ServiceContext, world: World) -> None:
    """Sign-in works with the right password only; changing the password needs the current one and ends every
    other session of the person (the one making the change stays)."""
    auth.change_password(ctx, world.member, current=None, new="first password", address=ADDRESS)  # none set yet
    assert auth.sign_in(ctx, " MAX@acme.test ", "first password", address=ADDRESS) == world.member
    for email, password in (("max@acme.test", "wrong password"), ("nobody@acme.test", "first password")):
        with pytest.raises(NotAuthenticated, match="email or password is wrong"):
            auth.sign_in(ctx, email, password, address=ADDRESS)
    with pytest.raises(NotAuthenticated):
        auth.sign_in(ctx, "admin@acme.test", "anything at all", address=ADDRESS)  # no password set: cannot sign in
    policy = auth.SessionPolicy()
    here, there = (auth.start_session(ctx, world.member.person_id, policy) for _ in range(2))
    assert auth.session_principal(ctx, there, policy) == world.member
    with pytest.raises(InvalidInput, match="current_password is required"):
        auth.change_password(ctx, world.member, current=None, new="second password", address=ADDRESS)
    with pytest.raises(InvalidInput, match="not your current password"):
        auth.change_password(ctx, world.member, current="wrong password", new="second password", address=ADDRESS)
    auth.change_password(
        ctx, world.member, current="first password", new="second password", address=ADDRESS, keep_session=here
    )
    assert auth.session_principal(ctx, here, policy) == world.member
    with pytest.raises(NotAuthenticated, match="sign in again"):
        auth.session_principal(ctx, there, policy)
    assert auth.sign_in(ctx, "max@acme.test", "second password", address=ADDRESS) == world.member


def test_demo_seed_has_every_role_several_zones_an_all_day_and_an_organizer_zone_event(ctx: ServiceContext) -> None:
    """The demo organization has one person per role, events in several zones, one all-day, one without a zone,
    RSVPs, and working tokens and passwords."""
    seed = seed_demo(ctx)
    assert {login.person.role for login in seed.logins} == set(Role)
    assert len({e.timezone for e in seed.events}) >= 3
    assert sum(e.all_day for e in seed.events) == 1
    assert any(e.timezone_source.value == "organizer" for e in seed.events)
    member = seed.login(Role.MEMBER)
    assert auth.authenticate_token(ctx, member.token).person_id == member.person.id
    assert auth.sign_in(ctx, member.person.email, DEMO_PASSWORD, address=ADDRESS).person_id == member.person.id
    answered = rsvps.my_rsvps(ctx, auth.principal(member.person))
    assert {r.status for r, _ in answered} >= {RsvpStatus.ACCEPTED, RsvpStatus.NEEDS_ACTION}
    assert all(e.start_utc > ctx.now() for e in seed.events)
