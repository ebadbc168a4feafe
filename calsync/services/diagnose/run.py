"""The I/O around the decisions: read the facts in one unit of work, try the refresh, ask the provider."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from calsync.core import validation
from calsync.core.connection import ConnectionStatus
from calsync.core.entry import entry_key
from calsync.core.model import Event, Rsvp
from calsync.errors import (
    CalsyncError,
    InvalidInput,
    ProviderAuthError,
    ProviderError,
    ProviderTransient,
)
from calsync.services.connections import CalendarContext
from calsync.services.diagnose.checks import (
    TokenOutcome,
    check_connection,
    check_events_module,
    check_full_sync,
    check_pull,
    check_push,
    check_recent_errors,
    check_token,
    check_workers,
)
from calsync.services.diagnose.event import EventFacts, Presence, check_event, check_rsvp
from calsync.services.diagnose.model import (
    DiagnoseOptions,
    Diagnosis,
)
from calsync.services.uow import unit_of_work
from calsync.store.connections import ConnectionRecord, ConnectionRepository, InstallationRepository
from calsync.store.entries import EntryRecord, EntryRepository
from calsync.store.work import WorkRepository
from calsync.sync.tokens import ConnectionUnusable

# ---- the I/O: reading the facts, trying the refresh, asking the provider --------------------------------------


def find_person_id(cc: CalendarContext, email: str) -> int:
    """The person's id by email; an unknown or malformed email is bad input (exit 2 at the CLI)."""
    address = validation.email(email, field="user")
    with unit_of_work(cc.service.db, write=False) as uow:
        found = uow.people.by_email(address)
    if found is None:
        raise InvalidInput(f"no person with the email {address!r}; check the address", field="user")
    return found[0].id


def try_refresh(cc: CalendarContext, record: ConnectionRecord) -> TokenOutcome:
    """Force a refresh through the TokenManager, exactly as a sync round would: on success the new tokens are
    stored (Microsoft rotates refresh tokens on every use, §4); a refusal puts the connection in error, as the next
    round would have. A connection already in error is not tried: nothing may be sent for it (issue 4)."""
    if record.status is ConnectionStatus.ERROR:
        return TokenOutcome("in_error", code=record.auth_error_code, message=record.error_detail)
    try:
        _, fresh = cc.tokens.access_token(record.id, force_refresh=True)
    except ConnectionUnusable as exc:
        return TokenOutcome("in_error", code=exc.code, status=exc.status, message=exc.reason)
    except ProviderAuthError as exc:
        return TokenOutcome("refused", code=exc.code, status=exc.status, message=exc.reason)
    except ProviderTransient as exc:
        return TokenOutcome("unreachable", code=exc.code, status=exc.status, message=exc.message)
    except ProviderError as exc:
        return TokenOutcome("failed", code=exc.code, status=exc.status, message=exc.message)
    return TokenOutcome("refreshed", expires_at=fresh.token_expires_at)


def ask_provider(cc: CalendarContext, record: ConnectionRecord, key: str, calendars: Sequence[str]) -> Presence:
    """Is the entry with ``key`` in one of ``calendars`` now? One lookup per calendar (by calsync's key: Google's
    private extended property, Graph's single-value extended property, §1 and §3) and one calendar listing to name
    the calendar and tell whether it is the account's main one."""
    try:
        token, _ = cc.tokens.access_token(record.id)
        port = cc.providers.entries(record.provider, record.account_email)
        found_in: str | None = None
        for calendar_id in calendars:
            if port.lookup(token, calendar_id, key):
                found_in = calendar_id
                break
        if found_in is None:
            return Presence(asked=True, found=False)
        listing = cc.providers.calendars(record.provider).list_calendars(token)
    except CalsyncError as exc:
        why = exc.reason if isinstance(exc, ProviderAuthError) else exc.message
        return Presence(asked=False, why=why)
    info = next((c for c in listing if c.id == found_in), None)
    return Presence(
        asked=True,
        found=True,
        calendar_id=found_in,
        calendar_name=info.name if info else record.target_calendar_name,
        primary=info.primary if info else None,
    )


def diagnose(cc: CalendarContext, options: DiagnoseOptions, email: str, event_id: int | None = None) -> Diagnosis:
    """Walk the internal note's checklist for the person with ``email`` (and one event of their organization)."""
    person_id = find_person_id(cc, email)
    with unit_of_work(cc.service.db, write=False) as uow:
        first = ConnectionRepository(uow.session).latest_for_person(person_id)
    outcome = (
        try_refresh(cc, first) if first is not None and first.status is not ConnectionStatus.DISCONNECTED else None
    )
    now = cc.service.now()
    with unit_of_work(cc.service.db, write=False) as uow:
        person = uow.people.get(person_id)
        assert person is not None
        org = uow.organizations.get(person.organization_id)
        assert org is not None
        repo = ConnectionRepository(uow.session)
        record = repo.latest_for_person(person_id)
        lines = repo.recent_log(record.id, 200) if record is not None else []
        work = WorkRepository(uow.session)
        live = work.live_workers(now, dt.timedelta(seconds=2 * options.lease_seconds))
        beats = [w.heartbeat_at for w in work.workers() if w.kind == "worker"]
        event: Event | None = None
        rsvp: Rsvp | None = None
        entry: EntryRecord | None = None
        key: str | None = None
        if event_id is not None:
            event = uow.events.get(person.organization_id, event_id)
            if event is None:
                raise InvalidInput(f"no event with id {event_id} in {org.name}; check the id", field="event")
            rsvp = uow.rsvps.get(event_id, person_id)
            if record is not None:
                entry = EntryRepository(uow.session).get(record.id, event_id)
                key = entry_key(InstallationRepository(uow.session).installation_id(now), record.id, event_id)
    checks = [check_events_module(org.events_enabled, org.name), check_connection(record, now)]
    active = record is not None and record.status is not ConnectionStatus.DISCONNECTED
    if record is not None and active:
        checks.append(check_full_sync(record, record.last_full_reconcile_at, now))
        if outcome is not None:
            checks.append(check_token(record.provider, outcome, now))
        if record.status is ConnectionStatus.CONNECTED:
            checks += [check_pull(record, now, options), check_push(record, now, options)]
    checks.append(check_workers(live, max(beats, default=None), now, options))
    if record is not None and active:
        checks.append(check_recent_errors(lines, now))
    if event is not None:
        checks.append(check_rsvp(rsvp, now))
        presence = Presence(asked=False, why="the connection is not usable")
        if record is not None and record.status is ConnectionStatus.CONNECTED and key is not None:
            calendars = [c for c in (entry.synced.calendar_id if entry else None, record.target_calendar_id) if c]
            presence = ask_provider(cc, record, key, list(dict.fromkeys(calendars)))
        facts = EventFacts(
            org.events_enabled,
            event.status,
            event.end_utc <= now,
            rsvp.status if rsvp else None,
            record,
            entry,
            presence,
        )
        checks.append(check_event(facts, now))
    return Diagnosis(person.id, person.email, person.name, org.name, event_id, now, tuple(checks))
