"""A small world for engine tests: an organization, an organizer, people connected through the real OAuth flow
to the sandbox, and helpers to act in the platform and in the calendar and to look at the calendar."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import update

from calsync.config import Settings
from calsync.core.connection import Provider
from calsync.core.model import Principal, Role, RsvpStatus
from calsync.sandbox.server import RunningSandbox
from calsync.services import auth, connections, events, organizations, people, rsvps
from calsync.services.runtime import Runtime
from calsync.store.connections import ConnectionRepository
from calsync.store.sync_models import ConnectionRow
from calsync.sync.worker import Worker

PROVIDERS = [pytest.param(Provider.GOOGLE, id="google"), pytest.param(Provider.MICROSOFT, id="microsoft")]


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    """Engine tests run without push notifications unless they test them (no webhook server is listening)."""
    return Settings(data_dir=data_dir, push_notifications=False)


@dataclass
class World:
    runtime: Runtime
    sandbox: RunningSandbox
    provider: Provider
    organizer: Principal
    org_id: int
    people: dict[str, Principal] = field(default_factory=dict)

    @property
    def ctx(self):  # noqa: ANN201
        return self.runtime.service

    @property
    def emulator(self) -> Any:
        return getattr(self.sandbox.sandbox, self.provider.value)

    def person(self, email: str) -> Principal:
        if email not in self.people:
            p = people.register(
                self.ctx, self.org_id, people.NewPerson(email, email.split("@")[0].title(), "Europe/Berlin")
            )
            self.people[email] = auth.principal(p)
        return self.people[email]

    def connect(self, email: str) -> None:
        """The person connects their calendar through the real flow (the sandbox consents automatically)."""
        actor = self.person(email)
        binding = "b" * 32
        url = connections.start_connect(self.runtime.calendar, actor, self.provider, binding)
        with httpx.Client(verify=str(self.sandbox.tls.ca_cert), trust_env=False) as http:
            r = http.get(url)
        q = parse_qs(urlsplit(r.headers["location"]).query)
        connections.complete_connect(
            self.runtime.calendar,
            self.provider,
            state=q["state"][0],
            code=q["code"][0],
            error=None,
            browser_binding=binding,
            session_person_id=actor.person_id,
        )

    def event(
        self,
        title: str = "Launch party",
        *,
        days: int = 3,
        hour: int = 18,
        zone: str | None = "Europe/Berlin",
        all_day: bool = False,
    ) -> int:
        day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).date()
        if all_day:
            draft = events.EventDraft(title=title, all_day=True, start_date=day, end_date=day, timezone=zone)
        else:
            start = dt.datetime.combine(day, dt.time(hour, 0))
            draft = events.EventDraft(
                title=title,
                timezone=zone,
                start=start,
                end=start + dt.timedelta(hours=2),
                location="Hall A",
                description="Bring friends",
            )
        return events.create_event(self.ctx, self.organizer, draft).id

    def rsvp(self, email: str, event_id: int, status: RsvpStatus) -> None:
        rsvps.answer(self.ctx, self.person(email), event_id, status)

    def edit(self, event_id: int, **fields: Any) -> None:
        events.update_event(self.ctx, self.organizer, event_id, events.EventPatch(fields=frozenset(fields), **fields))

    def cancel(self, event_id: int) -> None:
        events.cancel_event(self.ctx, self.organizer, event_id)

    def my_rsvp(self, email: str, event_id: int) -> tuple[RsvpStatus, str]:
        r = rsvps.my_rsvp(self.ctx, self.person(email), event_id)
        return r.status, r.source.value

    def worker(self, **kw: Any) -> Worker:
        return self.runtime.worker(**kw)

    def sync(self) -> list[Any]:
        return self.worker().drain()

    def connection_id(self, email: str) -> int:
        with self.runtime.db.session(write=False) as s:
            record = ConnectionRepository(s).active_for_person(self.person(email).person_id)
        assert record is not None
        return record.id

    def time_passes(self, email: str, **instants: dt.datetime | None) -> None:
        """Set stored instants of the person's connection (``next_poll_at``, ``token_expires_at``, ``due_at``):
        what time passing does, without waiting. calsync itself changes a connection only through the
        repository's intent methods; this is the test arranging the clock."""
        unknown = set(instants) - {"next_poll_at", "token_expires_at", "due_at", "channel_expires_at"}
        assert not unknown, unknown
        connection_id = self.connection_id(email)
        with self.runtime.db.session() as s:
            s.execute(update(ConnectionRow).where(ConnectionRow.id == connection_id).values(**instants))

    def entries(self, email: str) -> list[dict[str, Any]]:
        """calsync's live entries in the person's primary calendar, as the provider holds them."""
        if self.provider is Provider.GOOGLE:
            items = self.emulator.events(email, "primary")
            return [
                i
                for i in items
                if i.get("status") != "cancelled"
                and (i.get("extendedProperties") or {}).get("private", {}).get("calsyncKey")
            ]
        default = self.emulator.state.require_account(email).default_calendar.id
        items = [i for i in self.emulator.events(email) if i.get("calendarId") == default]
        return [
            i for i in items if not i.get("isCancelled") and "calsyncKey" in str(i.get("singleValueExtendedProperties"))
        ]

    def entries_in(self, email: str, calendar_id: str) -> list[dict[str, Any]]:
        """Every live event in one of the person's calendars (a moved-to target), as the provider holds it."""
        if self.provider is Provider.GOOGLE:
            return [e for e in self.emulator.events(email, calendar_id) if e.get("status") != "cancelled"]
        return [
            e for e in self.emulator.events(email) if not e.get("isCancelled") and e.get("calendarId") == calendar_id
        ]

    def titles(self, email: str) -> list[str]:
        key = "summary" if self.provider is Provider.GOOGLE else "subject"
        return sorted(str(e.get(key)) for e in self.entries(email))

    def answer_in_calendar(self, email: str, entry: dict[str, Any], status: RsvpStatus) -> None:
        if self.provider is Provider.GOOGLE:
            self.emulator.respond(email, entry["id"], status.value, calendar_id="primary")
        else:
            show_as = {RsvpStatus.ACCEPTED: "busy", RsvpStatus.TENTATIVE: "tentative", RsvpStatus.DECLINED: "free"}
            self.emulator.set_show_as(email, entry["id"], show_as[status])

    def delete_in_calendar(self, email: str, entry: dict[str, Any]) -> None:
        if self.provider is Provider.GOOGLE:
            self.emulator.delete_event(email, entry["id"], calendar_id="primary")
        else:
            self.emulator.delete_as(email, entry["id"])


@pytest.fixture(params=PROVIDERS)
def world(request: pytest.FixtureRequest, runtime: Runtime, sandbox: RunningSandbox) -> Iterator[World]:
    org = organizations.create_organization(runtime.service, "Juno Events")
    organizer = people.register(
        runtime.service,
        org.id,
        people.NewPerson("olga@juno.example", "Olga Organizer", "America/New_York", Role.ORGANIZER),
    )
    yield World(runtime, sandbox, request.param, auth.principal(organizer), org.id)
