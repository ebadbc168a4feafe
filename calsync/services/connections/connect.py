"""Connect: the authorization-code flow from the person's click to a stored grant.

The flow is PKCE (S256) with a one-time ``state`` (RFC 9700): the state is random, stored only as a SHA-256,
bound to the person and to their browser (a random cookie whose hash is stored beside it), expires after
:data:`STATE_TTL`, and is spent before the code is exchanged, so a replayed, forged, expired or other person's
callback is refused and a code is never exchanged twice. The PKCE verifier lives encrypted in the state row
(provider-facts §2 and §4: both providers take ``code_challenge_method=S256`` and the verifier at the token
request). The redirect URI is fixed (:meth:`CalendarContext.redirect_uri`).

**One active connection per person** (a partial unique index): connecting another account first marks the old
connection disconnected and releases it at its provider (:func:`~.disconnect._release_remote`). Reconnecting the
same account reuses its row, so its entry mappings are found again and the next full reconcile adopts the entries
already in the calendar instead of duplicating them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from calsync.core.connection import Connection, ConnectionStatus, Provider
from calsync.core.model import Principal
from calsync.errors import InvalidInput, NotFound
from calsync.providers.base import CalendarInfo, Grant
from calsync.services.access import require_events
from calsync.services.connections.context import CalendarContext
from calsync.services.connections.disconnect import _release_remote
from calsync.services.uow import unit_of_work
from calsync.store.connections import ConnectionRecord, ConnectionRepository, SealedTokens
from calsync.store.entries import EntryRepository
from calsync.store.oauth_states import OAuthStateRepository

STATE_TTL = dt.timedelta(minutes=10)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def parse_provider(value: str) -> Provider:
    try:
        return Provider(value)
    except ValueError:
        raise InvalidInput(
            f"unknown calendar provider {value!r}; use 'google' or 'microsoft'", field="provider"
        ) from None


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
        states = OAuthStateRepository(uow.session)
        states.purge_states(now)
        states.add_state(
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
        states = OAuthStateRepository(uow.session)
        stored = states.take_state(_sha256(state))
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
        if not states.use_state(stored.id, now):
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
    sealed = SealedTokens(
        access_token_enc=cc.cipher.encrypt(grant.tokens.access_token),
        refresh_token_enc=cc.cipher.encrypt(grant.tokens.refresh_token) if grant.tokens.refresh_token else None,
        expires_at=grant.tokens.expires_at,
    )
    with unit_of_work(cc.service.db) as uow:
        repo = ConnectionRepository(uow.session)
        replaced: ConnectionRecord | None = None
        active = repo.active_for_person(person_id, for_update=True)
        if active is not None and not (active.provider is provider and active.account_id == grant.account_id):
            replaced = active
            repo.disconnect(active.id, now)
            repo.log(active.id, now, "disconnect", f"replaced by a {provider.label} connection")
        existing = repo.find_account(person_id, provider, grant.account_id)
        scopes = " ".join(grant.scopes)
        if existing is None:
            record = repo.create(
                person_id=person_id,
                organization_id=organization_id,
                provider=provider,
                account_id=grant.account_id,
                account_email=grant.account_email,
                scopes=scopes,
                status=ConnectionStatus.CONNECTED,
                need_full_sync=True,
                need_full_sync_reason="connected: upcoming events are added",
                connected_at=now,
                target_calendar_id=primary.id if primary else None,
                target_calendar_name=primary.name if primary else None,
                dedicated_calendar=False,
                resync_requested=False,
                due_at=now,
                pull_requested=True,
                work_seq=1,
                attempts=0,
                access_token_enc=sealed.access_token_enc,
                refresh_token_enc=sealed.refresh_token_enc,
                token_expires_at=sealed.expires_at,
            )
            repo.log(record.id, now, "connect", f"connected {provider.label} account {grant.account_email}")
        else:
            record = repo.reconnect(
                existing.id,
                now,
                account_email=grant.account_email,
                scopes=scopes,
                tokens=sealed,
                reason="reconnected: entries already in your calendar are adopted, none duplicated",
                target_calendar_id=existing.target_calendar_id or (primary.id if primary else None),
                target_calendar_name=existing.target_calendar_name or (primary.name if primary else None),
            )
            repo.log(record.id, now, "connect", f"reconnected {provider.label} account {grant.account_email}")
        EntryRepository(uow.session).mark_dirty(record.id, None, now)
        return replaced
