"""Calendar connections as the rest of calsync sees them: states, and what a person is told about them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from calsync.core.entry import Display


class Provider(str, Enum):
    GOOGLE = "google"
    MICROSOFT = "microsoft"

    @property
    def label(self) -> str:
        return "Google Calendar" if self is Provider.GOOGLE else "Outlook"


class ConnectionStatus(str, Enum):
    CONNECTED = "connected"
    ERROR = "error"
    """The grant is unusable (revoked, expired, password changed): nothing is sent until the person reconnects."""
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True)
class Connection:
    """A person's link to one provider account (never carries tokens)."""

    id: int
    person_id: int
    organization_id: int
    provider: Provider
    account_email: str
    status: ConnectionStatus
    error_reason: str | None
    need_full_sync: bool
    need_full_sync_reason: str | None
    target_calendar_id: str | None
    target_calendar_name: str | None
    dedicated_calendar: bool
    scopes: tuple[str, ...]
    connected_at: dt.datetime
    disconnected_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_error_at: dt.datetime | None
    pending_changes: int
    channel_expires_at: dt.datetime | None
    display: Display = Display.FULL
    """What the calendar shows of each event (:class:`calsync.core.entry.Display`)."""

    @property
    def active(self) -> bool:
        return self.status is not ConnectionStatus.DISCONNECTED


RECONNECT_FIX = "Disconnect your calendar in Profile → Calendar, then connect it again."


def reason_without_fix(error_reason: str | None, default: str = "Your calendar connection stopped working.") -> str:
    """A connection's error reason as one sentence, without the reconnect fix the engine appends to it, so a page
    that states the fix itself (the badge, Profile → Calendar) says it once, not twice (issue 16)."""
    text = (error_reason or "").replace(RECONNECT_FIX, "").strip() or default
    return text if text.endswith((".", "!", "?")) else text + "."
