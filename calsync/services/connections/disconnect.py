"""Disconnect: stop push notifications, revoke the grant, delete the stored tokens, optionally remove entries.

Revocation exists only at Google (provider-facts §2: ``POST …/revoke`` with the access or refresh token); the
Microsoft identity platform has no revocation endpoint for apps (§4: a refresh token is not revoked by use, only
by the person or an admin), so there the stored tokens are simply deleted. Push is stopped by ``channels.stop``
at Google (§1.1, §1.5) or by deleting the Graph subscription (§3.6). Everything at the provider is best effort:
a broken grant must never block a person's disconnect, and what could not be done is reported in plain words.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from calsync.core.connection import ConnectionStatus, Provider
from calsync.core.model import Principal
from calsync.errors import CalsyncError, NotFound, ProviderError, ProviderTransient
from calsync.providers.base import PushChannel, TokenSet
from calsync.services.connections.context import CalendarContext
from calsync.services.connections.provider_calls import _plain
from calsync.services.uow import unit_of_work
from calsync.store.connections import ConnectionRecord, ConnectionRepository
from calsync.store.entries import EntryRecord, EntryRepository
from calsync.sync.tokens import REFRESH_MARGIN

log = logging.getLogger(__name__)

REMOVE_ATTEMPTS = 3
REMOVE_BACKOFF = 0.5
"""Seconds before the second removal attempt (then twice that): a person is waiting on the disconnect."""


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
        repo.disconnect(record.id, now)
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
        by_calendar: dict[str, list[EntryRecord]] = {}
        for entry in mapped:
            by_calendar.setdefault(entry.synced.calendar_id or "", []).append(entry)
        for calendar_id, group in by_calendar.items():
            # Provider batches (50 deletes per Google request, 20 per Graph $batch); an item the provider throttled
            # or failed for a moment is sent again (deletes of what is gone are done, so retrying is safe).
            pending = group
            uncertain: set[int] = set()  # an earlier attempt may have deleted it (lost answer, 5xx)
            for attempt in range(REMOVE_ATTEMPTS):
                try:
                    results = entries.delete_many(token, calendar_id, [e.synced.provider_id or "" for e in pending])
                except ProviderError as exc:
                    results = [exc] * len(pending)
                retry: list[EntryRecord] = []
                for entry, result in zip(pending, results, strict=True):
                    if result is True or (result is False and entry.event_id in uncertain):
                        removed += 1  # gone now after an attempt whose outcome was unknown: calsync's own delete
                    elif result is False:
                        already_gone.append(entry.event_id)
                    elif isinstance(result, ProviderTransient) and attempt < REMOVE_ATTEMPTS - 1:
                        if result.status != 429:
                            uncertain.add(entry.event_id)
                        retry.append(entry)
                    else:
                        message = _plain(result) if isinstance(result, ProviderError) else str(result)
                        problems.append(f"entry for event {entry.event_id} not removed ({message})")
                if not retry:
                    break
                time.sleep(REMOVE_BACKOFF * (attempt + 1))
                pending = retry
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
