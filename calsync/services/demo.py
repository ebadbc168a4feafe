"""The demo organization, Fernhill Studio: a small design studio with people in five zones and every role, events in
several zones, one all-day over two days, one without a zone (it takes its organizer's), and some RSVPs. It reads
like a real team's calendar (issue 16: a title such as "Office hours (organizer's zone)" read like test data).
``calsync demo`` seeds a new database with it (and resumes it on later runs: :func:`resume_demo`); tests call
:func:`seed_demo` directly.

Event times are relative to the context's clock (the next days), at hours that exist in every zone used here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from calsync.core.model import Event, Module, Organization, Person, Role, RsvpStatus
from calsync.core.timezones import utc_to_wall
from calsync.services import auth, events, organizations, people, rsvps
from calsync.services.context import ServiceContext
from calsync.store.organizations import OrganizationRepository
from calsync.store.people import PersonRepository

DEMO_PASSWORD = "calsync-demo-events"
DEMO_ORGANIZATION = "Fernhill Studio"


@dataclass(frozen=True)
class DemoLogin:
    """One demo person with the credentials the demo prints (the token is shown only here)."""

    person: Person
    password: str
    token: str


@dataclass(frozen=True)
class DemoSeed:
    organization: Organization
    logins: list[DemoLogin]
    events: list[Event]

    def login(self, role: Role) -> DemoLogin:
        return next(login for login in self.logins if login.person.role is role)


_PEOPLE = [
    ("ada@example.org", "Ada Lindqvist", "Europe/Berlin", Role.ADMIN),
    ("olivia@example.org", "Olivia Bennett", "America/New_York", Role.ORGANIZER),
    ("max@example.org", "Max Tanaka", "Asia/Tokyo", Role.MEMBER),
    ("mia@example.org", "Mia Nguyen", "Australia/Sydney", Role.MEMBER),
    ("sam@example.org", "Sam Okafor", "UTC", Role.SUPPORT),
]


def seed_demo(ctx: ServiceContext, organization_name: str = DEMO_ORGANIZATION) -> DemoSeed:
    """Create the demo organization (Events on), its people with passwords and API tokens, events and RSVPs."""
    organization = organizations.create_organization(ctx, organization_name, frozenset({Module.EVENTS}))
    logins: list[DemoLogin] = []
    for email, name, zone, role in _PEOPLE:
        person = people.register(
            ctx,
            organization.id,
            people.NewPerson(email=email, name=name, timezone=zone, role=role, password=DEMO_PASSWORD),
        )
        token = auth.issue_token_unchecked(ctx, person.id, "demo")
        logins.append(DemoLogin(person=person, password=DEMO_PASSWORD, token=token.secret))
    by_role = {login.person.role: login.person for login in logins}
    organizer = auth.principal(by_role[Role.ORGANIZER])
    admin = auth.principal(by_role[Role.ADMIN])
    members = [login.person for login in logins if login.person.role is Role.MEMBER]

    def day(offset: int, zone: str) -> dt.date:
        return (utc_to_wall(ctx.now(), zone) + dt.timedelta(days=offset)).date()

    def at(offset: int, zone: str, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(day(offset, zone), dt.time(hour, minute))

    drafts = [
        (
            organizer,
            events.EventDraft(
                title="Quarterly planning",
                description="Goals and budget for next quarter. Bring your team's top three priorities.",
                location="London office",
                timezone="Europe/London",
                start=at(3, "Europe/London", 10),
                end=at(3, "Europe/London", 11, 30),
            ),
        ),
        (
            organizer,
            events.EventDraft(
                title="Team lunch in Tokyo",
                description="Ramen near the Shibuya office, on the studio.",
                location="Shibuya, Tokyo",
                timezone="Asia/Tokyo",
                start=at(5, "Asia/Tokyo", 12),
                end=at(5, "Asia/Tokyo", 13),
            ),
        ),
        (
            organizer,
            events.EventDraft(
                title="Design office hours",
                description="Drop in with questions about the new booking flow.",
                start=at(2, "America/New_York", 15),
                end=at(2, "America/New_York", 16),
            ),
        ),
        (
            admin,
            events.EventDraft(
                title="Company offsite",
                description="Two days of workshops and a boat trip. Travel details follow by email.",
                location="Lindau, Lake Constance",
                timezone="Europe/Berlin",
                all_day=True,
                start_date=day(10, "Europe/Berlin"),
                end_date=day(11, "Europe/Berlin"),
            ),
        ),
        (
            admin,
            events.EventDraft(
                title="All-hands",
                description="Quarterly results and what we ship next.",
                location="Video call",
                timezone="America/Los_Angeles",
                start=at(7, "America/Los_Angeles", 9),
                end=at(7, "America/Los_Angeles", 10),
            ),
        ),
    ]
    created = [events.create_event(ctx, actor, draft) for actor, draft in drafts]
    everyone = [p.id for p in members] + [by_role[Role.SUPPORT].id]
    for event in created:
        actor = organizer if event.organizer_id == organizer.person_id else admin
        events.invite(ctx, actor, event.id, everyone)
    max_, mia = (auth.principal(p) for p in members)
    rsvps.answer(ctx, max_, created[0].id, RsvpStatus.ACCEPTED)
    rsvps.answer(ctx, max_, created[3].id, RsvpStatus.ACCEPTED)
    rsvps.answer(ctx, mia, created[1].id, RsvpStatus.TENTATIVE)
    rsvps.answer(ctx, mia, created[2].id, RsvpStatus.DECLINED)
    rsvps.answer(ctx, mia, created[4].id, RsvpStatus.ACCEPTED)
    return DemoSeed(organization=organization, logins=logins, events=created)


def resume_demo(ctx: ServiceContext) -> DemoSeed | None:
    """The demo organization of an earlier run (its data kept), with a fresh API token for each demo person (only
    their hashes are stored, so the first run's cannot be shown again). None when the database has no demo."""
    with ctx.db.session(write=False) as session:
        people_repo = PersonRepository(session)
        found = [people_repo.by_email(email) for email, *_ in _PEOPLE]
        if any(f is None for f in found):
            return None
        persons = [f[0] for f in found if f is not None]
        organization = OrganizationRepository(session).get(persons[0].organization_id)
    if organization is None:
        return None
    logins = [
        DemoLogin(person=p, password=DEMO_PASSWORD, token=auth.issue_token_unchecked(ctx, p.id, "demo").secret)
        for p in persons
    ]
    return DemoSeed(organization=organization, logins=logins, events=[])
