"""One seed's world: calsync's runtime on a fresh SQLite file, an organization, people connected to the sandbox,
and every way the simulation acts on it (as the platform, as a person in their calendar, as a worker).

Time is simulated: one :class:`calsync.sandbox.clock.Clock` started at ``harness.EPOCH`` is the sandbox's clock and
calsync's (services, the engine, the change hook through ``Database(clock=...)``, token and subscription expiries
through ``Providers``), the rate limiters' and every wait's (an in-round retry's backoff ``sleep`` moves it). Only
the seed moves it, so nothing sleeps and no wall clock decides an outcome.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import text

from calsync.config import Settings
from calsync.core.connection import ConnectionStatus, Provider
from calsync.core.entry import KEY_PROPERTY, parse_entry_key
from calsync.core.model import Principal, Role, RsvpStatus
from calsync.errors import CalsyncError
from calsync.services import auth, connections, notifications, organizations, people
from calsync.services.context import ServiceContext
from calsync.services.runtime import Runtime, build_runtime
from calsync.store.connections import ConnectionRecord, ConnectionRepository
from calsync.store.work import WorkRepository
from calsync.sync.limits import Limits
from calsync.sync.report import RoundReport
from tests.simulation.harness import BASE_URL, WEBHOOK_BASE_URL, Harness, Notification
from tests.simulation.transport import WorkerKilled

SHOW_AS = {RsvpStatus.ACCEPTED: "busy", RsvpStatus.TENTATIVE: "tentative"}
"""How a person answers in Outlook: no Show as value means "not going" (Free means "maybe", docs/sync.md)."""
FROM_SHOW_AS = {"busy": RsvpStatus.ACCEPTED, "tentative": RsvpStatus.TENTATIVE, "free": RsvpStatus.TENTATIVE}
FROM_GOOGLE = {"accepted": RsvpStatus.ACCEPTED, "tentative": RsvpStatus.TENTATIVE, "declined": RsvpStatus.DECLINED}
LEASE_SECONDS = 30.0
ROUND_PARALLELISM = 1
"""The engine's ``round_parallelism`` here: a round's entries one after another, in a fixed order, so no thread
timing decides which entries a round finished before a fault ended it (production writes 4 at once)."""
POLL_INTERVAL = 120.0


@dataclass(frozen=True)
class CalendarEntry:
    """One calsync entry as the provider holds it (read through the sandbox's own Python API)."""

    provider: Provider
    calendar_id: str
    provider_id: str
    key: str
    connection_id: int
    event_id: int
    title: str
    location: str
    start_utc: dt.datetime | None
    response: RsvpStatus | None


@dataclass
class Person:
    email: str
    principal: Principal
    provider: Provider
    """The provider this person uses now (they may switch)."""
    connected: bool = False
    needs_reconnect: bool = False
    """Their grant was revoked: they reconnect later (the simulation's people always come back)."""


@dataclass
class RoundLog:
    reports: list[RoundReport] = field(default_factory=list)
    killed: int = 0
    unexpected: list[str] = field(default_factory=list)
    trace: Callable[[str], None] = field(default=lambda line: None)
    """Where each round's outcome goes (the seed's trace: a replay compares it byte for byte)."""


def describe(report: RoundReport) -> str:
    """One round on one line: everything a replay must reproduce (outcome, calls, writes, errors, next due)."""
    t = report.tally
    due = report.next_due.isoformat() if report.next_due else "-"
    return (
        f"round c{report.connection_id} {report.outcome}{' full' if report.full else ''} calls={report.calls} "
        f"pulled={report.pulled_changes} entries={report.entries} +{t.created} ~{t.updated} -{t.deleted} "
        f"adopted={t.answers_adopted} tombstoned={t.tombstoned} due={due} errors={sorted(report.errors)}"
    )


class SimWorld:
    def __init__(self, harness: Harness, seed: int, *, push: bool) -> None:
        self.h = harness
        self.seed = seed
        harness.reset_sandbox(seed)
        self.clock = harness.sandbox.clock
        self.db = harness.seed_database(self.clock)
        self.installation_id = hashlib.sha256(f"sim-{seed}".encode()).hexdigest()[:16]
        with self.db.engine.begin() as conn:  # a fixed installation id: entry keys and Google ids replay exactly
            conn.execute(
                text("INSERT INTO installation (id, installation_id, created_at) VALUES (1, :iid, :at)"),
                {"iid": self.installation_id, "at": dt.datetime(2026, 1, 1)},
            )
        settings = Settings(
            data_dir=harness.data_dir,
            base_url=BASE_URL,
            webhook_base_url=WEBHOOK_BASE_URL,
            push_notifications=push,
            poll_interval=POLL_INTERVAL,
            lease_seconds=LEASE_SECONDS,
        )
        self.http = httpx.Client(transport=harness.transport, timeout=20)
        self.runtime: Runtime = build_runtime(
            settings, database=self.db, clock=self.clock, providers=harness.provider_config, http=self.http
        )
        # The rate limiters run on simulated time too, so a burst of simulated minutes never waits for real ones.
        limits = Limits(clock=self.clock.monotonic, sleep=self.clock.sleep)
        self.runtime.limits = limits
        engine = self.runtime.engine
        engine.limits = limits
        engine.jitter_seed = f"sim-{seed}"  # backoff schedules replay with the seed
        engine.sleep = self.clock.sleep  # an in-round retry's backoff is simulated time passing
        engine.settings = dataclasses.replace(engine.settings, round_parallelism=ROUND_PARALLELISM)
        self.worker = self.runtime.worker(concurrency=8, lease_seconds=LEASE_SECONDS, worker_id="sim-worker")
        ctx = self.runtime.service
        org = organizations.create_organization(ctx, "Sim Events")
        self.org_id = org.id
        organizer = people.register(
            ctx, org.id, people.NewPerson("olga@sim.example", "Olga Organizer", "Europe/Berlin", Role.ORGANIZER)
        )
        self.organizer = auth.principal(organizer)
        self.people: list[Person] = []
        self.event_ids: list[int] = []

    @property
    def ctx(self) -> ServiceContext:
        return self.runtime.service

    # ---- time --------------------------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self.clock.advance(seconds)

    # ---- people and connections ----------------------------------------------------------------------------
    def add_person(self, index: int, provider: Provider) -> Person:
        email = f"p{index}@sim.example"
        p = people.register(self.ctx, self.org_id, people.NewPerson(email, f"Person {index}", "Europe/Berlin"))
        person = Person(email, auth.principal(p), provider)
        self.people.append(person)
        return person

    def connect(self, person: Person, provider: Provider | None = None) -> None:
        """The real OAuth flow: authorize over HTTPS (the sandbox consents at once), then the callback."""
        provider = provider or person.provider
        binding = "b" * 32
        url = connections.start_connect(self.runtime.calendar, person.principal, provider, binding)
        r = self.h.browser.get(url)
        location = r.headers.get("location", "")
        q = parse_qs(urlsplit(location).query)
        if "code" not in q:
            raise RuntimeError(f"the sandbox did not authorize {person.email}: {r.status_code} {location[:200]}")
        connections.complete_connect(
            self.runtime.calendar,
            provider,
            state=q["state"][0],
            code=q["code"][0],
            error=None,
            browser_binding=binding,
            session_person_id=person.principal.person_id,
        )
        person.provider, person.connected, person.needs_reconnect = provider, True, False

    def connection(self, person: Person) -> ConnectionRecord | None:
        """The person's active connection (connected or in error), else None."""
        with self.db.session(write=False) as s:
            return ConnectionRepository(s).active_for_person(person.principal.person_id)

    def all_connections(self) -> list[ConnectionRecord]:
        with self.db.session(write=False) as s:
            return ConnectionRepository(s).in_organization(self.org_id)

    # ---- workers ---------------------------------------------------------------------------------------------
    def rounds(self, limit: int, log: RoundLog) -> int:
        """Claim up to ``limit`` due connections and run their rounds. A round killed mid-way keeps its lease."""
        claims = self.worker.claim(limit)
        for claim in claims:
            self.h.transport.in_round = True
            try:
                report = self.runtime.engine.reconcile(claim.connection_id)
            except WorkerKilled:
                log.killed += 1
                log.trace(f"round c{claim.connection_id} killed")
                continue  # the worker is gone: its lease lapses after LEASE_SECONDS
            except Exception as exc:  # noqa: BLE001 - an engine that lets an error escape is a finding
                log.unexpected.append(f"connection {claim.connection_id}: {type(exc).__name__}: {exc}")
                report = RoundReport(claim.connection_id, outcome="error", errors=[str(exc)])
                report.next_due = self.clock() + dt.timedelta(seconds=60)
            finally:
                self.h.transport.in_round = False
            log.reports.append(report)
            log.trace(describe(report))
            self.worker.release(claim, report)
        return len(claims)

    def abandon_claim(self) -> int | None:
        """A worker claims a due connection and dies before doing anything: the lease must expire."""
        with self.db.session() as s:
            claims = WorkRepository(s).claim("sim-dead-worker", self.clock(), dt.timedelta(seconds=LEASE_SECONDS), 1)
        return claims[0].connection_id if claims else None

    # ---- push notifications ----------------------------------------------------------------------------------
    def pending_notifications(self) -> list[Notification]:
        """Everything the sandbox sent so far (waits, bounded, for deliveries still in flight)."""
        deadline = time.monotonic() + 5.0
        while self.h.sandbox.notifier.pending and time.monotonic() < deadline:
            time.sleep(0.001)
        return self.h.inbox.take()

    def deliver(self, note: Notification) -> None:
        """What calsync's webhook routes do with a notification (calsync.web.routes.webhooks)."""
        if note.provider is Provider.GOOGLE:
            notifications.google(
                self.ctx,
                channel_id=note.headers.get("x-goog-channel-id"),
                token=note.headers.get("x-goog-channel-token"),
                state=note.headers.get("x-goog-resource-state"),
            )
        else:
            notifications.microsoft(self.ctx, note.payload)

    def notification_connection(self, note: Notification) -> int:
        """Which connection a notification is for (-1 if none): a stable order for held-back notifications."""
        if note.provider is Provider.GOOGLE:
            channel = note.headers.get("x-goog-channel-id")
        else:
            items = note.payload.get("value") if isinstance(note.payload, dict) else None
            channel = items[0].get("subscriptionId") if items and isinstance(items[0], dict) else None
        if not channel:
            return -1
        with self.db.session(write=False) as s:
            record = ConnectionRepository(s).by_channel(channel)
        return record.id if record else -1

    # ---- the calendar, as the provider holds it --------------------------------------------------------------
    def calendar_entries(self, email: str, provider: Provider) -> list[CalendarEntry]:
        """Every live calsync entry in every calendar of the account (this installation's keys only)."""
        out: list[CalendarEntry] = []
        if provider is Provider.GOOGLE:
            g = self.h.sandbox.google
            if email not in g.account_emails():
                return out
            with g.state.lock:
                calendars = [c.id for c in g.state.calendars_of(email)]
            for cal in calendars:
                for item in g.events(email, cal):
                    key = ((item.get("extendedProperties") or {}).get("private") or {}).get(KEY_PROPERTY)
                    if item.get("status") == "cancelled" or not key:
                        continue
                    mine = [a for a in item.get("attendees", []) if str(a.get("email", "")).lower() == email]
                    answer = FROM_GOOGLE.get(str(mine[0].get("responseStatus"))) if mine else None
                    start = item.get("start", {}).get("dateTime")
                    entry = self._entry(
                        provider,
                        cal,
                        item["id"],
                        key,
                        item.get("summary"),
                        item.get("location"),
                        _instant(start),
                        answer,
                    )
                    if entry is not None:
                        out.append(entry)
            return out
        m = self.h.sandbox.microsoft
        if email not in m.account_emails():
            return out
        for item in m.events(email):
            props = item.get("singleValueExtendedProperties") or []
            key = next((p.get("value") for p in props if str(p.get("value", "")).startswith("cs1.")), None)
            if item.get("isCancelled") or not key:
                continue
            start = item.get("start") or {}
            when = _instant(start.get("dateTime"), assume_utc=str(start.get("timeZone", "UTC")) == "UTC")
            entry = self._entry(
                provider,
                item["calendarId"],
                item["id"],
                key,
                item.get("subject"),
                (item.get("location") or {}).get("displayName"),
                when,
                FROM_SHOW_AS.get(str(item.get("showAs"))),
            )
            if entry is not None:
                out.append(entry)
        return out

    def _entry(
        self,
        provider: Provider,
        cal: str,
        pid: str,
        key: str,
        title: Any,
        location: Any,
        start: dt.datetime | None,
        answer: RsvpStatus | None,
    ) -> CalendarEntry | None:
        parsed = parse_entry_key(key)
        if parsed is None or parsed[0] != self.installation_id:
            return None
        return CalendarEntry(
            provider, cal, pid, key, parsed[1], parsed[2], str(title or ""), str(location or ""), start, answer
        )

    def answer_in_calendar(self, email: str, entry: CalendarEntry, status: RsvpStatus) -> bool:
        """The person answers on the entry; False where the calendar offers no answer (Google shows Yes / No /
        Maybe only where the person is the attendee the calendar represents: not in a secondary calendar)."""
        if entry.provider is Provider.GOOGLE:
            try:
                self.h.sandbox.google.respond(email, entry.provider_id, status.value, calendar_id=entry.calendar_id)
            except Exception as exc:  # noqa: BLE001 - the sandbox's ApiError: nothing to answer here
                if "not an attendee" in str(exc):
                    return False
                raise
        elif status not in SHOW_AS:
            return False
        else:
            self.h.sandbox.microsoft.set_show_as(email, entry.provider_id, SHOW_AS[status])
        return True

    def delete_in_calendar(self, email: str, entry: CalendarEntry) -> None:
        if entry.provider is Provider.GOOGLE:
            self.h.sandbox.google.delete_event(email, entry.provider_id, calendar_id=entry.calendar_id)
        else:
            self.h.sandbox.microsoft.delete_as(email, entry.provider_id)

    def revoke_grant(self, person: Person) -> None:
        if person.provider is Provider.GOOGLE:
            self.h.sandbox.google.revoke_grants(person.email)
        else:
            self.h.sandbox.microsoft.revoke(person.email)

    def expire_cursors(self) -> None:
        self.h.sandbox.google.expire_sync_tokens()
        self.h.sandbox.microsoft.expire_delta_tokens()

    def close(self) -> None:
        self.runtime.close()
        self.db.dispose()


def _instant(value: Any, *, assume_utc: bool = False) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    text_value = value.rstrip("Z")
    if "." in text_value:
        head, frac = text_value.split(".", 1)
        digits = "".join(ch for ch in frac if ch.isdigit())[:6]
        rest = frac[len("".join(ch for ch in frac if ch.isdigit())) :]
        text_value = f"{head}.{digits}{rest}"
    parsed = dt.datetime.fromisoformat(text_value)
    if parsed.tzinfo is None:
        if not (assume_utc or value.endswith("Z")):
            return None
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def refuse(exc: BaseException) -> str:
    """A short description of why an operation was refused or failed (for the seed's trace)."""
    if isinstance(exc, CalsyncError):
        return f"{type(exc).__name__}: {exc.message[:120]}"
    return f"{type(exc).__name__}: {str(exc)[:120]}"


def connected_ids(world: SimWorld) -> dict[int, ConnectionRecord]:
    return {c.id: c for c in world.all_connections() if c.status is ConnectionStatus.CONNECTED}


__all__ = ["CalendarEntry", "Person", "RoundLog", "SimWorld"]
