"""Calendar connections: connect Google or Outlook, keep the grant healthy, pick the calendar, disconnect.

The seeds' "Connecting your calendar" and "Calendar disconnected or showing an error", done properly (issue 4):

- **Connect** is the authorization-code flow with PKCE (S256) and a one-time ``state`` (RFC 9700): the state is
  random, stored only as a SHA-256, bound to the person and to their browser (a random cookie whose hash is
  stored beside it), expires after 10 minutes, and is spent before the code is exchanged, so a replayed,
  forged, expired or other person's callback is refused and a code is never exchanged twice. The PKCE verifier
  lives encrypted in the state row. The redirect URI is fixed (``<base_url>/oauth/<provider>/callback``); no
  redirect target is ever taken from a parameter.
- **One active connection per person** (a partial unique index); connecting another provider first disconnects
  the old one. Reconnecting the same account reuses its row, so its entry mappings are found again and the next
  full reconcile adopts the entries already in the calendar instead of duplicating them.
- **Disconnect** stops push notifications, revokes the grant where the provider has a revocation endpoint
  (Google; Microsoft has none for apps), deletes the stored tokens, and on request removes calsync's entries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import TypeVar

from calsync.core.connection import RECONNECT_FIX, Connection, ConnectionStatus, Provider
from calsync.core.model import Principal, Role
from calsync.crypto import KeyFile, TokenCipher
from calsync.errors import (
    CalsyncError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ProviderAuthError,
    ProviderError,
)
from calsync.providers.base import CalendarInfo, Grant, PushChannel, TokenSet
from calsync.providers.registry import Providers
from calsync.services.access import organization_of, require_events
from calsync.services.context import ServiceContext
from calsync.services.uow import unit_of_work
from calsync.store.connections import ConnectionRecord, ConnectionRepository
from calsync.store.entries import EntryRepository
from calsync.sync.tokens import REFRESH_MARGIN, ConnectionUnusable, TokenManager

log = logging.getLogger(__name__)

T = TypeVar("T")

STATE_TTL = dt.timedelta(minutes=10)
DEDICATED_NAME_SUFFIX = "events"


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class CalendarContext:
    """What calendar operations need beyond the database and the clock."""

    service: ServiceContext
    cipher: TokenCipher
    providers: Providers
    tokens: TokenManager
    base_url: str

    def redirect_uri(self, provider: Provider) -> str:
        return f"{self.base_url.rstrip('/')}/oauth/{provider.value}/callback"


def parse_provider(value: str) -> Provider:
    try:
        return Provider(value)
    except ValueError:
        raise InvalidInput(
            f"unknown calendar provider {value!r}; use 'google' or 'microsoft'", field="provider"
        ) from None


# ---- connect --------------------------------------------------------------------------------------------------


def start_connect(cc: CalendarContext, actor: Principal, provider: Provider, browser_binding: str) -> str:
    """The provider's authorization URL for ``actor``. ``browser_binding`` is the random value of a cookie set
    in the same response, so only this browser can complete the flow."""
    if len(browser_binding) < 16:
        raise InvalidInput("the browser binding must be a random value of at least 16 characters")
    with unit_of_work(cc.service.db, write=False) as uow:
        require_events(uow, actor)
    state = secrets.token_urlsafe(32)
    start = cc.providers.oauth(provider).start(
        state=state, redirect_uri=cc.redirect_uri(provider), login_hint=actor.email
    )
    now = cc.service.now()
    with unit_of_work(cc.service.db) as uow:
        repo = ConnectionRepository(uow.session)
        repo.purge_states(now)
        repo.add_state(
            state_hash=_sha256(state),
            person_id=actor.person_id,
            provider=provider,
            binding_hash=_sha256(browser_binding),
            flow_secret_enc=cc.cipher.encrypt(start.flow_secret),
            redirect_uri=cc.redirect_uri(provider),
            created_at=now,
            expires_at=now + STATE_TTL,
        )
    return start.url


class ConnectRefused(InvalidInput):
    """The callback cannot complete the connection; the message says why and what to do."""


def complete_connect(
    cc: CalendarContext,
    provider: Provider,
    *,
    state: str | None,
    code: str | None,
    error: str | None,
    browser_binding: str | None,
    session_person_id: int | None,
) -> Connection:
    """Finish the flow started by :func:`start_connect`: check and spend the state, exchange the code, store."""
    if not state:
        raise ConnectRefused("the authorization response has no state; start connecting again from Profile → Calendar")
    now = cc.service.now()
    with unit_of_work(cc.service.db) as uow:
        repo = ConnectionRepository(uow.session)
        stored = repo.take_state(_sha256(state))
        if stored is None:
            raise ConnectRefused("this authorization link is unknown or forged; start connecting again")
        if stored.used_at is not None:
            raise ConnectRefused("this authorization was already used; start connecting again")
        if stored.expires_at < now:
            raise ConnectRefused("this authorization expired (10 minutes); start connecting again")
        if stored.provider is not provider:
            raise ConnectRefused("this authorization was started for another provider; start connecting again")
        if not browser_binding or not hmac.compare_digest(stored.binding_hash, _sha256(browser_binding)):
            raise ConnectRefused(
                "this authorization was started in another browser; start connecting again from this one"
            )
        if session_person_id is not None and session_person_id != stored.person_id:
            raise ConnectRefused("this authorization belongs to someone else; sign in as yourself and start again")
        if not repo.use_state(stored.id, now):
            raise ConnectRefused("this authorization was already used; start connecting again")
        person = uow.people.get(stored.person_id)
        if person is None:
            raise NotFound("the person who started connecting no longer exists")
    if error:
        reason = "you cancelled at the provider" if error == "access_denied" else f"the provider said {error!r}"
        raise ConnectRefused(f"Your calendar was not connected: {reason}. You can try again any time.")
    if not code:
        raise ConnectRefused("the authorization response has no code; start connecting again")
    oauth = cc.providers.oauth(provider)
    grant = oauth.finish(
        code=code, state=state, flow_secret=cc.cipher.decrypt(stored.flow_secret_enc), redirect_uri=stored.redirect_uri
    )
    directory = cc.providers.calendars(provider)
    calendars = directory.list_calendars(grant.tokens.access_token)
    primary = next((c for c in calendars if c.primary), None)
    replaced = _store_grant(cc, person.id, person.organization_id, provider, grant, primary)
    if replaced is not None:
        _release_remote(cc, replaced, remove_entries=False)
    with unit_of_work(cc.service.db, write=False) as uow:
        record = ConnectionRepository(uow.session).active_for_person(person.id)
        assert record is not None
        return record.view()


def _store_grant(
    cc: CalendarContext,
    person_id: int,
    organization_id: int,
    provider: Provider,
    grant: Grant,
    primary: CalendarInfo | None,
) -> ConnectionRecord | None:
    """Store the new grant; returns the record of a connection it replaced (to release at its provider)."""
    now = cc.service.now()
    sealed = {
        "access_token_enc": cc.cipher.encrypt(grant.tokens.access_token),
        "refresh_token_enc": cc.cipher.encrypt(grant.tokens.refresh_token) if grant.tokens.refresh_token else None,
        "token_expires_at": grant.tokens.expires_at,
    }
    with unit_of_work(cc.service.db) as uow:
        repo = ConnectionRepository(uow.session)
        replaced: ConnectionRecord | None = None
        active = repo.active_for_person(person_id, for_update=True)
        if active is not None and not (active.provider is provider and active.account_id == grant.account_id):
            replaced = active
            repo.update(active.id, **_disconnected_fields(now))
            repo.log(active.id, now, "disconnect", f"replaced by a {provider.label} connection")
        existing = repo.find_account(person_id, provider, grant.account_id)
        fields = dict(
            account_email=grant.account_email,
            scopes=" ".join(grant.scopes),
            status=ConnectionStatus.CONNECTED,
            error_reason=None,
            error_detail=None,
            need_full_sync=True,
            connected_at=now,
            disconnected_at=None,
            cursor=None,
            due_at=now,
            pull_requested=True,
            attempts=0,
            **sealed,
        )
        if existing is None:
            record = repo.create(
                person_id=person_id,
                organization_id=organization_id,
                provider=provider,
                account_id=grant.account_id,
                need_full_sync_reason="connected: upcoming events are added",
                target_calendar_id=primary.id if primary else None,
                target_calendar_name=primary.name if primary else None,
                dedicated_calendar=False,
                resync_requested=False,
                work_seq=1,
                **fields,
            )
            repo.log(record.id, now, "connect", f"connected {provider.label} account {grant.account_email}")
        else:
            record = repo.update(
                existing.id,
                need_full_sync_reason="reconnected: entries already in your calendar are adopted, none duplicated",
                target_calendar_id=existing.target_calendar_id or (primary.id if primary else None),
                target_calendar_name=existing.target_calendar_name or (primary.name if primary else None),
                work_seq=existing.work_seq + 1,
                **fields,
            )
            repo.log(record.id, now, "connect", f"reconnected {provider.label} account {grant.account_email}")
        EntryRepository(uow.session).mark_dirty(record.id, None, now)
        return replaced


def _disconnected_fields(now: dt.datetime) -> dict[str, object]:
    return dict(
        status=ConnectionStatus.DISCONNECTED,
        disconnected_at=now,
        access_token_enc=None,
        refresh_token_enc=None,
        token_expires_at=None,
        cursor=None,
        channel_id=None,
        channel_resource_id=None,
        channel_secret_hash=None,
        channel_expires_at=None,
        due_at=None,
        lease_owner=None,
        lease_until=None,
    )


# ---- reading -------------------------------------------------------------------------------------------------


def my_connection(cc: CalendarContext, actor: Principal) -> Connection | None:
    """The caller's active connection, else their most recent one (None if they never connected)."""
    with unit_of_work(cc.service.db, write=False) as uow:
        repo = ConnectionRepository(uow.session)
        record = repo.latest_for_person(actor.person_id)
        return None if record is None else record.view(repo.pending_changes(record.id))


def _may_support(actor: Principal) -> None:
    if actor.role not in (Role.ADMIN, Role.SUPPORT):
        raise PermissionDenied("only administrators and support staff may read other people's connections")


def person_connection(cc: CalendarContext, actor: Principal, person_id: int) -> Connection | None:
    """Support and admins: a person's connection in their own organization (never the tokens)."""
    _may_support(actor)
    with unit_of_work(cc.service.db, write=False) as uow:
        person = uow.people.get(person_id)
        if person is None or person.organization_id != actor.organization_id:
            raise NotFound(f"no person with id {person_id} in your organization")
        repo = ConnectionRepository(uow.session)
        record = repo.latest_for_person(person_id)
        return None if record is None else record.view(repo.pending_changes(record.id))


def organization_connections(
    cc: CalendarContext, actor: Principal, status: ConnectionStatus | None = None
) -> list[Connection]:
    _may_support(actor)
    with unit_of_work(cc.service.db, write=False) as uow:
        organization_of(uow, actor)
        repo = ConnectionRepository(uow.session)
        return [r.view(repo.pending_changes(r.id)) for r in repo.in_organization(actor.organization_id, status)]


def _active(cc: CalendarContext, actor: Principal) -> ConnectionRecord:
    with unit_of_work(cc.service.db, write=False) as uow:
        require_events(uow, actor)
        record = ConnectionRepository(uow.session).active_for_person(actor.person_id)
    if record is None:
        raise NotFound("you have no connected calendar; connect Google Calendar or Outlook first")
    return record


def _call(cc: CalendarContext, record: ConnectionRecord, fn: Callable[[str], T]) -> T:
    """Run one provider request for ``record`` with a valid access token, classifying auth failures.

    A 401 gets one forced refresh and one retry (the token may have been revoked or have expired early;
    provider-facts §1.6 ``authError``, §3.8 ``InvalidAuthenticationToken``). A 401 again, with the token just
    issued, a 403 for a missing scope, or an ``invalid_grant`` at refresh puts the connection in **error**
    (issue 4: reason in plain words, need_full_sync, off the queue) and raises :class:`ConnectionUnusable`, so
    the web layer answers 409 with the reason and the fix. Transient failures (429/5xx/timeouts) propagate
    untouched: the connection stays connected.
    """
    try:
        token, current = cc.tokens.access_token(record.id)
    except ConnectionUnusable:
        raise
    except ProviderAuthError as exc:  # refused at refresh: TokenManager has already put it in error
        raise _unusable(record, exc) from None
    try:
        return fn(token)
    except ConnectionUnusable:
        raise
    except ProviderAuthError as exc:
        if exc.status != 401:  # e.g. 403 missing scope: refreshing cannot help
            cc.tokens.mark_auth_error(record.id, exc)
            raise _unusable(record, exc) from None
    try:
        fresh, _ = cc.tokens.access_token(current.id, force_refresh=True)
    except ConnectionUnusable:
        raise
    except ProviderAuthError as exc:
        raise _unusable(record, exc) from None
    try:
        return fn(fresh)
    except ConnectionUnusable:
        raise
    except ProviderAuthError as exc:  # 401 with a token issued a moment ago: the grant is not usable
        cc.tokens.mark_auth_error(record.id, exc)
        raise _unusable(record, exc) from None


def _unusable(record: ConnectionRecord, exc: ProviderAuthError) -> ConnectionUnusable:
    return ConnectionUnusable(
        f"connection {record.id}: {exc.message}",
        provider=record.provider.value,
        reason=f"{exc.reason} {RECONNECT_FIX}",
        status=exc.status,
        code=exc.code,
    )


def list_calendars(cc: CalendarContext, actor: Principal) -> list[CalendarInfo]:
    """The caller's writable calendars (the target picker)."""
    record = _active(cc, actor)
    directory = cc.providers.calendars(record.provider)
    return [c for c in _call(cc, record, directory.list_calendars) if c.writable]


# ---- changing ------------------------------------------------------------------------------------------------


def set_target(
    cc: CalendarContext, actor: Principal, *, calendar_id: str | None = None, create_dedicated: bool = False
) -> Connection:
    """Pick which calendar receives events, or have calsync create a dedicated one named after the organization.
    Entries already written move to the new calendar on the next sync."""
    if (calendar_id is None) == (not create_dedicated):
        raise InvalidInput("give either calendar_id or create_dedicated=true", field="calendar_id")
    record = _active(cc, actor)
    directory = cc.providers.calendars(record.provider)
    calendars = _call(cc, record, directory.list_calendars)
    if create_dedicated:
        with unit_of_work(cc.service.db, write=False) as uow:
            org = organization_of(uow, actor)
        name = f"{org.name} {DEDICATED_NAME_SUFFIX}"
        chosen = next((c for c in calendars if c.name == name and c.writable), None)
        if chosen is None:
            chosen = _call(cc, record, lambda token: directory.create_calendar(token, name, actor.timezone))
    else:
        chosen = next((c for c in calendars if c.id == calendar_id), None)
        if chosen is None:
            raise InvalidInput(
                f"no calendar with id {calendar_id!r} in your account; pick one from the list", field="calendar_id"
            )
        if not chosen.writable:
            raise InvalidInput(
                f"calsync cannot write to {chosen.name!r}; pick a calendar you can edit", field="calendar_id"
            )
    now = cc.service.now()
    with unit_of_work(cc.service.db) as uow:
        repo = ConnectionRepository(uow.session)
        if record.target_calendar_id != chosen.id:
            repo.update(
                record.id,
                target_calendar_id=chosen.id,
                target_calendar_name=chosen.name,
                dedicated_calendar=create_dedicated,
                cursor=None,
                need_full_sync=True,
                need_full_sync_reason=f"calendar changed to {chosen.name!r}: entries move there",
            )
            EntryRepository(uow.session).mark_dirty(record.id, None, now)
            repo.mark_due(record.id, now, pull=True)
            repo.log(record.id, now, "target", f"target calendar set to {chosen.name!r}")
        updated = repo.get(record.id)
        assert updated is not None
        return updated.view(repo.pending_changes(record.id))


def request_resync(cc: CalendarContext, actor: Principal) -> Connection:
    """The seeds' **Resync**: a full reconciliation soon, bringing back entries the person deleted too."""
    record = _active(cc, actor)
    if record.status is ConnectionStatus.ERROR:
        raise Conflict(f"{record.error_reason or 'This connection is in error.'} A resync cannot run until then.")
    now = cc.service.now()
    with unit_of_work(cc.service.db) as uow:
        repo = ConnectionRepository(uow.session)
        repo.update(
            record.id, need_full_sync=True, resync_requested=True, need_full_sync_reason="resync requested by you"
        )
        EntryRepository(uow.session).mark_dirty(record.id, None, now)
        repo.mark_due(record.id, now, pull=True)
        repo.log(record.id, now, "resync", "resync requested")
        updated = repo.get(record.id)
        assert updated is not None
        return updated.view(repo.pending_changes(record.id))


@dataclasses.dataclass(frozen=True)
class DisconnectReport:
    provider: Provider
    revoked: bool
    entries_removed: int
    problems: tuple[str, ...]


def disconnect(cc: CalendarContext, actor: Principal, *, remove_entries: bool = False) -> DisconnectReport:
    """Stop push, revoke at the provider, delete tokens; optionally remove the entries calsync made."""
    with unit_of_work(cc.service.db, write=False) as uow:
        record = ConnectionRepository(uow.session).active_for_person(actor.person_id)
    if record is None:
        raise NotFound("you have no connected calendar to disconnect")
    report = _release_remote(cc, record, remove_entries=remove_entries)
    now = cc.service.now()
    with unit_of_work(cc.service.db) as uow:
        repo = ConnectionRepository(uow.session)
        repo.update(record.id, **_disconnected_fields(now))
        repo.log(
            record.id,
            now,
            "disconnect",
            f"disconnected; revoked={report.revoked}; entries removed={report.entries_removed}"
            + (f"; problems: {'; '.join(report.problems)}" if report.problems else ""),
        )
    return report


def _release_remote(cc: CalendarContext, record: ConnectionRecord, *, remove_entries: bool) -> DisconnectReport:
    """Everything a disconnect does at the provider, best effort: a broken grant must not block a disconnect.

    Works from ``record``'s own sealed tokens, never by re-reading the row: when a new connection replaces this
    one, the row is already marked disconnected (tokens cleared) by the time this runs, and the old grant must
    still be revoked. An access token near expiry is refreshed here without being stored (it is about to be
    deleted); a refusal at refresh only means there is nothing left to stop at the provider.
    """
    problems: list[str] = []
    removed = 0
    revoked = False
    tokens: TokenSet | None = None
    token: str | None = None
    try:
        if record.access_token_enc:
            tokens = cc.tokens.tokens(dataclasses.replace(record, status=ConnectionStatus.CONNECTED))
    except CalsyncError as exc:
        problems.append(f"the stored tokens could not be opened ({exc.message})")
    if tokens is not None and record.status is ConnectionStatus.CONNECTED:
        if tokens.expires_within(cc.service.now(), REFRESH_MARGIN.total_seconds()):
            try:
                tokens = cc.providers.oauth(record.provider).refresh(tokens)
                token = tokens.access_token
            except ProviderError as exc:
                problems.append(f"the grant could not be used ({_plain(exc)})")
        else:
            token = tokens.access_token
    if token is not None and remove_entries:
        entries = cc.providers.entries(record.provider, record.account_email)
        with unit_of_work(cc.service.db, write=False) as uow:
            mapped = EntryRepository(uow.session).mapped(record.id)
        removed = 0
        already_gone: list[int] = []
        for entry in mapped:
            try:
                if entries.delete(token, entry.synced.calendar_id or "", entry.synced.provider_id or ""):
                    removed += 1
                else:
                    already_gone.append(entry.event_id)
            except ProviderError as exc:
                problems.append(f"entry for event {entry.event_id} not removed ({_plain(exc)})")
        # Every attempted row goes, removed or not: a delete whose answer was lost may well have happened, and a
        # kept mapping would later read as "the person deleted it" (a tombstone). An entry that survived is found
        # by its key and adopted by the full reconcile after a reconnect (found by the simulation, seed 27).
        # An entry that was already gone was deleted by the person: it stays deleted (a tombstone; seed 108).
        now = cc.service.now()
        with unit_of_work(cc.service.db) as uow:
            repo = EntryRepository(uow.session)
            repo.remove(record.id, [e.event_id for e in mapped if e.event_id not in already_gone])
            for event_id in already_gone:
                repo.save(
                    record.id,
                    event_id,
                    now,
                    provider_id=None,
                    calendar_id=None,
                    etag=None,
                    fingerprint=None,
                    response=None,
                    tombstone=True,
                    create_pending=False,
                )
    elif remove_entries:
        problems.append("entries could not be removed because the connection is not working; remove them by hand")
    if token is not None and record.channel_id and record.channel_expires_at:
        try:
            cc.providers.push(record.provider).close(
                token, PushChannel(record.channel_id, record.channel_resource_id, record.channel_expires_at)
            )
        except ProviderError as exc:
            problems.append(f"push notifications not stopped ({_plain(exc)})")
    if tokens is not None:
        try:
            revoked = cc.providers.oauth(record.provider).revoke(tokens)
        except ProviderError as exc:
            problems.append(f"the grant was not revoked at the provider ({_plain(exc)})")
    for problem in problems:
        log.warning("disconnect of connection %s: %s", record.id, problem)
    return DisconnectReport(record.provider, revoked, removed, tuple(problems))


def _plain(exc: ProviderError) -> str:
    """What a person may read about a provider failure: the plain reason, never the provider's body."""
    if isinstance(exc, ProviderAuthError):
        return exc.reason
    return f"{exc.provider} answered {exc.code or exc.status or 'with an error'}"


# ---- keys ----------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RotationReport:
    new_key_id: str
    resealed: int
    """Connections whose tokens were re-encrypted."""
    retired: tuple[str, ...]


def rotate_keys(cc: CalendarContext, key_file: KeyFile | None, *, retire: bool = True) -> RotationReport:
    """``calsync keys rotate``: a new primary key, every stored token re-encrypted under it, old keys retired.

    Safe while the service runs: running processes notice the key file changed and seal new tokens with the new
    key; tokens they sealed with the old key meanwhile are caught by the next pass (repeated until none is left).
    """
    new_kid = key_file.add_primary() if key_file is not None else cc.cipher.primary
    resealed: set[int] = set()
    for _ in range(10):
        with unit_of_work(cc.service.db, write=False) as uow:
            stale = [cid for cid, a, r in ConnectionRepository(uow.session).all_sealed_tokens() if _stale(cc, a, r)]
        for cid in stale:
            # One short transaction per connection, re-reading the row under a lock: a token refreshed by the
            # running service between the scan and this write is resealed as it now is, never overwritten
            # with the older value the scan saw (a lost update would resurrect a rotated refresh token).
            with unit_of_work(cc.service.db) as uow:
                repo = ConnectionRepository(uow.session)
                current = repo.get(cid, for_update=True)
                if current is None or not _stale(cc, current.access_token_enc, current.refresh_token_enc):
                    continue
                repo.update(
                    cid,
                    access_token_enc=cc.cipher.reseal(current.access_token_enc) if current.access_token_enc else None,
                    refresh_token_enc=(
                        cc.cipher.reseal(current.refresh_token_enc) if current.refresh_token_enc else None
                    ),
                )
                resealed.add(cid)
        if not stale:
            break
    retired: list[str] = []
    if retire and key_file is not None:
        retired = key_file.retire(keep={new_kid})
    return RotationReport(new_kid, len(resealed), tuple(retired))


def _stale(cc: CalendarContext, access: str | None, refresh: str | None) -> bool:
    return bool((access and cc.cipher.needs_rotation(access)) or (refresh and cc.cipher.needs_rotation(refresh)))


__all__ = [
    "CalendarContext",
    "ConnectRefused",
    "DisconnectReport",
    "ProviderAuthError",
    "complete_connect",
    "disconnect",
    "list_calendars",
    "my_connection",
    "organization_connections",
    "parse_provider",
    "person_connection",
    "request_resync",
    "rotate_keys",
    "set_target",
    "start_connect",
]
