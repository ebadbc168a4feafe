"""The Google emulator's state: OAuth clients, accounts, calendars, events, grants, tokens and channels.

One :class:`GoogleState` per sandbox, guarded by one re-entrant lock: the server thread and a test's thread (the
Python fault API) both change it. Every operation takes the lock for a short, non-blocking critical section.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from calsync.sandbox import ids
from calsync.sandbox.clock import Clock

BASE32HEX = "0123456789abcdefghijklmnopqrstuv"

EventKind = Literal["own", "invite", "import"]
"""``own``: organized on this calendar; ``invite``: an attendee's copy of another sandbox calendar's event
(kept in step with the organizer's); ``import``: a private copy made by events.import (§1.1)."""


def random_base32hex(length: int = 26) -> str:
    """A random id in the event-id alphabet (provider-facts §1.2: base32hex, lowercase a-v and 0-9)."""
    return "".join(ids.choice(BASE32HEX) for _ in range(length))


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: frozenset[str]


@dataclass
class Account:
    email: str
    time_zone: str = "UTC"
    display_name: str | None = None


@dataclass
class StoredEvent:
    """One copy of an event on one calendar. ``data`` holds the resource without per-reader fields."""

    data: dict[str, Any]
    kind: EventKind
    version: int
    etag: str
    start_ts: float
    end_ts: float
    updated_ts: float
    removed_by_attendee: bool = False

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def cancelled(self) -> bool:
        return self.data.get("status") == "cancelled"


@dataclass
class Calendar:
    """A calendar. ``events`` is kept in change order (an event is re-inserted on each change), so a scan of it
    is also a scan of the change log: sync tokens and page tokens are positions in that order."""

    id: str
    owner: str
    summary: str
    time_zone: str
    primary: bool
    resource_id: str
    description: str | None = None
    location: str | None = None
    version: int = 0
    events: dict[str, StoredEvent] = field(default_factory=dict)

    def owner_ids(self) -> frozenset[str]:
        """Addresses that mean "this calendar" when they appear as organizer or attendee (for ``self``)."""
        return frozenset({self.id, self.owner}) if self.primary else frozenset({self.id})


@dataclass
class Grant:
    """What one account consented to for one OAuth client. Revoking it kills every token issued under it."""

    account: str
    client_id: str
    scopes: set[str]
    revoked: bool = False
    offline_granted: bool = False
    """Offline access was consented to (a refresh token went out); later consents get none unless forced."""


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    account: str
    scopes: tuple[str, ...]
    challenge: str | None
    method: str
    expires_at: float
    issue_refresh: bool
    used: bool = False


@dataclass
class AccessToken:
    token: str
    grant: Grant
    scopes: frozenset[str]
    expires_at: float


@dataclass
class RefreshToken:
    token: str
    grant: Grant
    scopes: tuple[str, ...]
    expires_at: float | None
    expired: bool = False


@dataclass
class Channel:
    """A watch channel on one calendar's events (provider-facts §1.5)."""

    id: str
    resource_id: str
    resource_uri: str
    calendar_id: str
    address: str
    token: str | None
    expiration_ms: int
    account: str
    client_id: str
    message_number: int = 1


class GoogleState:
    """Everything the Google emulator remembers; every access holds :attr:`lock`."""

    def __init__(self, clock: Clock) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.clients: dict[str, OAuthClient] = {}
        self.reset()

    def reset(self) -> None:
        """Forget accounts, calendars, tokens and channels. Registered OAuth clients are forgotten too."""
        with self.lock:
            self.clients = {}
            self.accounts: dict[str, Account] = {}
            self.calendars: dict[str, Calendar] = {}
            self.grants: dict[tuple[str, str], Grant] = {}
            self.codes: dict[str, AuthCode] = {}
            self.access_tokens: dict[str, AccessToken] = {}
            self.refresh_tokens: dict[str, RefreshToken] = {}
            self.channels: dict[str, Channel] = {}
            # Sync tokens embed this; bumping it (expire_sync_tokens) or a reset makes all older tokens 410.
            self.instance = ids.token_hex(4)
            self.sync_epoch = 0
            self._etag_counter = 0

    def next_etag(self) -> str:
        """A fresh etag in Google's shape (a quoted decimal), unique for the life of the sandbox."""
        self._etag_counter += 1
        return f'"{int(self.clock.now() * 1000)}{self._etag_counter:06d}"'

    def ensure_account(self, email: str, *, time_zone: str = "UTC") -> Account:
        """The account for ``email``, created with its primary calendar (id = the email, §1.1) if new."""
        key = email.strip().lower()
        if "@" not in key or key.startswith("@") or key.endswith("@"):
            raise ValueError(f"not an email address: {email!r}")
        with self.lock:
            account = self.accounts.get(key)
            if account is None:
                account = Account(key, time_zone)
                self.accounts[key] = account
                self.calendars[key] = Calendar(
                    id=key, owner=key, summary=key, time_zone=time_zone, primary=True,
                    resource_id=random_base32hex(27),
                )
            return account

    def calendars_of(self, email: str) -> list[Calendar]:
        with self.lock:
            return [c for c in self.calendars.values() if c.owner == email]
