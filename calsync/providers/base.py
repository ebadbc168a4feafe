"""The ports the rest of calsync sees for a calendar provider, and the values that cross them.

Adapters (``providers/google``, ``providers/microsoft``) implement these Protocols over the providers' REST
APIs and OAuth libraries, and map every failure onto :mod:`calsync.errors` at their boundary, so no layer above
looks at an HTTP status. The contract suite in ``tests/providers`` runs against both implementations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from calsync.core.connection import Provider
from calsync.core.entry import EntryContent
from calsync.core.plan import ListedEntry, Remote
from calsync.errors import CalsyncError


@dataclass(frozen=True)
class TokenSet:
    """A grant's tokens. ``refresh_token`` may be None when a provider did not return one (Google on refresh)."""

    access_token: str
    refresh_token: str | None
    expires_at: dt.datetime
    scopes: tuple[str, ...] = ()

    def expires_within(self, now: dt.datetime, seconds: float) -> bool:
        """True when the access token is expired or will be within ``seconds`` (refresh ahead of expiry)."""
        return self.expires_at <= now + dt.timedelta(seconds=seconds)

    def __repr__(self) -> str:  # never let a token reach a log through repr()
        return f"TokenSet(expires_at={self.expires_at.isoformat()}, scopes={self.scopes!r}, tokens=<redacted>)"


@dataclass(frozen=True)
class AuthorizationStart:
    """Where to send the person, and what must be kept (encrypted) until the callback: the PKCE verifier."""

    url: str
    flow_secret: str


@dataclass(frozen=True)
class Grant:
    """The outcome of a successful code exchange."""

    tokens: TokenSet
    account_email: str
    account_id: str
    scopes: tuple[str, ...] = field(default=())

    def __repr__(self) -> str:
        return f"Grant(account_email={self.account_email!r}, account_id={self.account_id!r}, tokens=<redacted>)"


@dataclass(frozen=True)
class CalendarInfo:
    """One of the account's calendars, as the target picker shows it."""

    id: str
    name: str
    primary: bool
    writable: bool
    time_zone: str | None = None


@dataclass(frozen=True)
class Written:
    """What the provider answered to a write: the entry's id and etag."""

    provider_id: str
    etag: str | None


@dataclass(frozen=True)
class PullPage:
    """Changes since the last cursor: (provider id, remote state) per changed item, and the next cursor."""

    changes: list[tuple[str, Remote]]
    cursor: str | None
    unconfirmed: frozenset[str] = frozenset()
    """Ids reported in ``changes`` as ABSENT by a removal that need not be a deletion: Graph's ``@removed`` also
    covers events that changed outside the calendarView window, e.g. moved more than 400 days ahead (provider-facts
    §3.5). Confirm with :meth:`EntriesPort.get` before treating one as the person's deletion. Google: always empty
    (a ``cancelled`` item is a deletion, §1.2)."""


class OAuthPort(Protocol):
    """Authorization-code flow with PKCE, refresh and revocation for one provider."""

    provider: Provider

    def start(self, *, state: str, redirect_uri: str, login_hint: str | None = None) -> AuthorizationStart:
        """Build the provider's authorization URL carrying ``state`` and a fresh PKCE challenge."""
        ...

    def finish(self, *, code: str, state: str, flow_secret: str, redirect_uri: str) -> Grant:
        """Exchange the code (with the PKCE verifier kept in ``flow_secret``) for tokens and the account."""
        ...

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """A fresh access token; keeps the old refresh token when the provider returns none."""
        ...

    def revoke(self, tokens: TokenSet) -> bool:
        """Revoke the grant at the provider. False when the provider offers no revocation for apps."""
        ...


class CalendarDirectoryPort(Protocol):
    """The account's calendars: list them, and create calsync's dedicated one."""

    def list_calendars(self, access_token: str) -> list[CalendarInfo]: ...

    def create_calendar(self, access_token: str, name: str, time_zone: str | None) -> CalendarInfo: ...


class EntriesPort(Protocol):
    """calsync's entries in one account's calendars. Implemented by GoogleEntries and GraphEntries."""

    BATCH_LIMIT: ClassVar[int]
    """Calls per batch request (Google 50, Graph 20): :meth:`create_many`/:meth:`delete_many` send one request per
    this many items, and every item counts as one call against the provider's quota (§1.7, §3.7)."""

    def create(self, token: str, calendar_id: str, content: EntryContent, generation: int) -> Written:
        """Create the entry; an id or transactionId already taken means it exists, so it is adopted."""
        ...

    def update(
        self, token: str, calendar_id: str, provider_id: str, content: EntryContent, generation: int, etag: str | None
    ) -> Written:
        """Rewrite the entry in place, conditional on ``etag`` (stale -> ProviderConflict)."""
        ...

    def delete(self, token: str, calendar_id: str, provider_id: str) -> bool:
        """Remove the entry; already gone counts as done. Returns whether it was still there."""
        ...

    def get(self, token: str, calendar_id: str, provider_id: str) -> Remote:
        """One entry as the calendar holds it now: PRESENT with etag and the person's answer (read as listings
        read it), or ABSENT when it is deleted or cancelled."""
        ...

    def deleted_copy(self, token: str, calendar_id: str, key: str, generation: int) -> str | None:
        """The provider id of an entry created under ``key`` and ``generation`` that has since been deleted, when
        the provider can tell (Google); None otherwise, including when a live copy exists."""
        ...

    def create_many(
        self, token: str, calendar_id: str, items: Sequence[tuple[EntryContent, int]]
    ) -> list[Written | CalsyncError]:
        """:meth:`create` for each (content, generation), batched; one result per item, in input order. A
        per-item failure (a 429 or 5xx included) is returned, not raised; a failure of a whole batch request, or
        the token being refused, raises as a single call would."""
        ...

    def delete_many(self, token: str, calendar_id: str, provider_ids: Sequence[str]) -> list[bool | CalsyncError]:
        """:meth:`delete` for each id, batched; one result per id, in input order, errors returned as in
        :meth:`create_many`."""
        ...

    def lookup(self, token: str, calendar_id: str, key: str) -> list[ListedEntry]:
        """Live entries carrying ``key``."""
        ...

    def list_connection(self, token: str, calendar_id: str, tag: str) -> list[ListedEntry]:
        """Every live entry of one connection (``<installation>.<connection>``) in ``calendar_id``."""
        ...

    def pull(self, token: str, calendar_id: str, cursor: str | None, now: dt.datetime) -> PullPage:
        """Changes since ``cursor`` (or from scratch), ending in the next cursor; a dead cursor raises
        ProviderSyncReset."""
        ...


@dataclass(frozen=True)
class PushChannel:
    """A live Google watch channel or Graph subscription for one connection."""

    id: str
    resource_id: str | None
    expires_at: dt.datetime


class PushPort(Protocol):
    """Push notifications for one account: open, renew, close."""

    def open(self, token: str, calendar_id: str, address: str, secret: str, ttl_seconds: int) -> PushChannel: ...

    def renew(
        self, token: str, channel: PushChannel, calendar_id: str, address: str, secret: str, ttl_seconds: int
    ) -> PushChannel: ...

    def close(self, token: str, channel: PushChannel) -> None: ...
