"""The Microsoft emulator's in-memory world: tenant, app registrations, accounts, grants, tokens, mailboxes.

One :class:`MicrosoftState` holds everything behind one re-entrant lock, because the server runs in its own
thread while tests call the Python API from theirs. Handlers take the lock, change state, collect the
:class:`Change` records a mutation produced, and fire notifications after releasing it.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from dataclasses import dataclass, field, fields
from typing import Any

from calsync.sandbox import ids

TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
"""The sandbox's one tenant (the GUID Microsoft uses for consumer accounts, so it is clearly not a real org)."""


@dataclass
class Settings:
    """Behaviours the spec leaves open (UNCONFIRMED in provider-facts) and limits tests shorten.

    Every field can be changed from Python (``sandbox.microsoft.settings.x = ...``) or over
    ``PUT /admin/microsoft/settings``; docs/sandbox-microsoft.md says why each default was chosen.
    """

    password_change_revokes_confidential: bool = True
    revocation_invalidates_access_tokens: bool = True
    duplicate_calendar_name_conflict: bool = True
    transaction_id_identical_retry: str = "error"  # or "return_original"
    decline_removes_from_calendar: bool = True
    time_change_resets_responses: bool = True
    cancelled_subject_prefix: bool = True
    max_subscription_minutes: int = 10080
    allow_calendar_subscription_paths: bool = True
    allow_calendar_delta_paths: bool = True
    delta_empty_first_page: bool = False
    mailbox_concurrency: int = 4
    requests_per_window: int = 10000
    window_seconds: float = 600.0
    access_token_seconds: int = 3600
    code_seconds: int = 600
    refresh_token_inactivity_days: int = 90
    validation_timeout_seconds: float = 10.0
    default_page_size: int = 10

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update; unknown keys and bad values are refused with the key named."""
        known = {f.name: f for f in fields(self)}
        unknown = set(changes) - set(known)
        if unknown:
            raise ValueError(f"unknown Microsoft settings: {', '.join(sorted(unknown))}; known: {', '.join(known)}")
        for key, value in changes.items():
            current = getattr(self, key)
            if isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{key} must be true or false")
                setattr(self, key, value)
            elif key == "transaction_id_identical_retry":
                if value not in ("error", "return_original"):
                    raise ValueError("transaction_id_identical_retry must be 'error' or 'return_original'")
                self.transaction_id_identical_retry = value
            else:
                setattr(self, key, type(current)(value))


@dataclass
class Client:
    """An app registration: confidential when it has a secret, public otherwise."""

    client_id: str
    client_secret: str | None
    redirect_uris: list[str]
    display_name: str = "calsync"
    """The app registration's display name, what the consent page names (Microsoft shows the name, not the id)."""

    @property
    def confidential(self) -> bool:
        return self.client_secret is not None


@dataclass
class Calendar:
    id: str
    name: str
    is_default: bool
    change_key: str


@dataclass
class Attendee:
    email: str
    name: str
    type: str = "required"
    response: str = "none"
    time: str = "0001-01-01T00:00:00Z"


@dataclass
class Event:
    """One item in one mailbox. Times are UTC instants (``start``/``end``) plus the zones as sent."""

    id: str
    calendar_id: str
    ical_uid: str
    subject: str
    body: dict[str, str]
    start: dt.datetime
    end: dt.datetime
    start_zone: str
    end_zone: str
    is_all_day: bool
    organizer_email: str
    organizer_name: str
    is_organizer: bool
    created: dt.datetime
    modified: dt.datetime
    change_key: str
    seq: int
    response: str = "organizer"
    response_time: str = "0001-01-01T00:00:00Z"
    show_as: str = "busy"
    sensitivity: str = "normal"
    importance: str = "normal"
    location: dict[str, Any] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    attendees: list[Attendee] = field(default_factory=list)
    is_cancelled: bool = False
    transaction_id: str | None = None
    extended: dict[str, str] = field(default_factory=dict)
    """Canonical property key (see odata.prop_key) -> value."""
    extended_ids: dict[str, str] = field(default_factory=dict)
    """Canonical property key -> the id as the client first wrote it (returned by $expand)."""
    recurrence: dict[str, Any] | None = None
    reminder_minutes: int = 15
    is_reminder_on: bool = True
    response_requested: bool = True
    deleted: bool = False
    fingerprint: str = ""
    copies: dict[str, str] = field(default_factory=dict)
    """On the organizer's item: attendee email -> event id of that attendee's copy (sandbox mailboxes only)."""
    origin: tuple[str, str] | None = None
    """On an attendee's copy: (organizer account id, organizer's event id)."""


@dataclass
class Account:
    """A sandbox user and their mailbox (calendars and events, tombstones kept for delta)."""

    id: str
    email: str
    name: str
    calendars: dict[str, Calendar] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    seq: int = 0

    @property
    def default_calendar(self) -> Calendar:
        return next(c for c in self.calendars.values() if c.is_default)


@dataclass
class Grant:
    """What an account consented to for one client; revocations are flags checked at the token endpoint."""

    account_id: str
    client_id: str
    scopes: set[str]
    revoked: bool = False
    consent_withdrawn: bool = False


@dataclass
class AuthCode:
    code: str
    client_id: str
    account_id: str
    redirect_uri: str
    scopes: list[str]
    nonce: str | None
    challenge: str | None
    challenge_method: str
    expires: float
    redeemed: bool = False


@dataclass
class RefreshToken:
    token: str
    account_id: str
    client_id: str
    scopes: list[str]
    issued: float
    last_used: float
    revoked: bool = False
    expired_by_inactivity: bool = False


@dataclass
class AccessToken:
    token: str
    account_id: str
    client_id: str
    scopes: set[str]
    expires: float
    issued: float
    revoked: bool = False


@dataclass
class Change:
    """One change to one event in one mailbox, for subscriptions (``created``/``updated``/``deleted``)."""

    account_id: str
    event_id: str
    change_type: str
    etag: str


def new_id(prefix: str = "AAMkAGI2") -> str:
    """Graph-looking opaque ids: base64, URL-safe, with the padding real Exchange ids carry."""
    return prefix + base64.urlsafe_b64encode(ids.token_bytes(30)).decode().rstrip("=") + "AAA="




def new_change_key() -> str:
    raw = ids.counter().to_bytes(8, "big") + ids.token_bytes(8)
    return base64.b64encode(raw).decode()


class MicrosoftState:
    """Everything the emulator knows, guarded by :attr:`lock`."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.settings = Settings()
        self.clients: dict[str, Client] = {}
        self.accounts: dict[str, Account] = {}
        self.by_email: dict[str, str] = {}
        self.grants: dict[tuple[str, str], Grant] = {}
        self.codes: dict[str, AuthCode] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.transaction_ids: dict[tuple[str, str], str] = {}

    def reset(self) -> None:
        with self.lock:
            self.settings = Settings()
            self.clients.clear()
            self.accounts.clear()
            self.by_email.clear()
            self.grants.clear()
            self.codes.clear()
            self.refresh_tokens.clear()
            self.access_tokens.clear()
            self.transaction_ids.clear()

    def account_by_email(self, email: str) -> Account | None:
        account_id = self.by_email.get(email.strip().lower())
        return self.accounts.get(account_id) if account_id else None

    def require_account(self, email: str) -> Account:
        account = self.account_by_email(email)
        if account is None:
            raise KeyError(f"no Microsoft sandbox account {email!r}; accounts: {sorted(self.by_email)}")
        return account

    def ensure_account(self, email: str, name: str | None = None) -> Account:
        """The account for ``email``, created with a default calendar named "Calendar" if new."""
        email = email.strip().lower()
        if "@" not in email:
            raise ValueError(f"{email!r} is not an email address")
        with self.lock:
            existing = self.account_by_email(email)
            if existing is not None:
                return existing
            local = email.split("@", 1)[0]
            account = Account(id=str(ids.uuid4()), email=email, name=name or local.replace(".", " ").title())
            cal = Calendar(id=new_id("AAMkAGI2Cal"), name="Calendar", is_default=True, change_key=new_change_key())
            account.calendars[cal.id] = cal
            self.accounts[account.id] = account
            self.by_email[email] = account.id
            return account

    def resolve_user(self, key: str) -> Account | None:
        """``/users/{id | userPrincipalName}``: the account by GUID or by email (case-insensitive)."""
        if key in self.accounts:
            return self.accounts[key]
        return self.account_by_email(key)
