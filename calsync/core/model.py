"""The platform's domain values: enums and frozen dataclasses, free of I/O.

These are what the services hand to the web layer and, later, what the sync engine renders into calendar entries
(design.md §3). The store keeps its own ORM rows and converts to these at the repository boundary, so nothing
above the store ever holds a live database object.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum


class RsvpStatus(str, Enum):
    """The four RSVP states of the seeds' table ("RSVP states in Juno").

    They map both ways onto Google ``needsAction/accepted/tentative/declined`` and Graph
    ``notResponded/accepted/tentativelyAccepted/declined`` (provider-facts.md; the mapping lives with the providers).
    """

    NEEDS_ACTION = "needs_action"
    ACCEPTED = "accepted"
    TENTATIVE = "tentative"
    DECLINED = "declined"


ANSWERS: frozenset[RsvpStatus] = frozenset({RsvpStatus.ACCEPTED, RsvpStatus.TENTATIVE, RsvpStatus.DECLINED})
"""The states a person may set: ``needs_action`` only ever comes from an invitation."""


class RsvpSource(str, Enum):
    """Who set an RSVP last: the platform itself, or an external calendar (sync back, a later issue)."""

    PLATFORM = "platform"
    GOOGLE = "google"
    MICROSOFT = "microsoft"


class Role(str, Enum):
    """A person's role in their one organization. See :mod:`calsync.core.permissions` for what each may do."""

    MEMBER = "member"
    ORGANIZER = "organizer"
    ADMIN = "admin"
    SUPPORT = "support"


class EventStatus(str, Enum):
    """Cancelled events stay stored (their calendar entries must be removed by sync), they are never deleted."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class TimezoneSource(str, Enum):
    """Which zone an event's wall-clock times are in: its own, or its organizer's, fixed at creation."""

    EVENT = "event"
    ORGANIZER = "organizer"


class Module(str, Enum):
    """Switchable parts of the platform an organization can turn on. Calendar sync needs ``events`` (seeds)."""

    EVENTS = "events"


@dataclass(frozen=True, slots=True)
class Organization:
    id: int
    name: str
    modules: frozenset[Module]
    created_at: dt.datetime
    disabled_at: dt.datetime | None = None

    @property
    def events_enabled(self) -> bool:
        return Module.EVENTS in self.modules

    @property
    def disabled(self) -> bool:
        """Disabled by an operator: its people cannot sign in and its calendars are not synced (nothing deleted)."""
        return self.disabled_at is not None


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    organization_id: int
    email: str
    name: str
    timezone: str
    role: Role
    has_password: bool
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: who they are, their organization and their role. Every service op takes one."""

    person_id: int
    organization_id: int
    role: Role
    email: str
    timezone: str


@dataclass(frozen=True, slots=True)
class Operator:
    """An operator's API token: runs the installation (creates and disables organizations, reads health).

    Deliberately not a :class:`Principal`: it names no person and no organization, so no service that reads or
    changes an organization's events, people or connections can be handed one (docs/api.md "Operators").
    """

    token_id: int
    label: str


@dataclass(frozen=True, slots=True)
class TimedSpan:
    """Wall-clock start and end (naive) in ``timezone``, with the UTC instants they resolve to."""

    start_local: dt.datetime
    end_local: dt.datetime
    start_utc: dt.datetime
    end_utc: dt.datetime


@dataclass(frozen=True, slots=True)
class AllDaySpan:
    """Whole days, ``end_date`` inclusive (as people say it); providers want ``exclusive_end_date``.

    Google ``end.date`` and Graph all-day ``end`` are exclusive (provider-facts.md), hence the property.
    """

    start_date: dt.date
    end_date: dt.date

    @property
    def exclusive_end_date(self) -> dt.date:
        return self.end_date + dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    organization_id: int
    organizer_id: int
    title: str
    description: str
    location: str
    timezone: str
    timezone_source: TimezoneSource
    all_day: bool
    span: TimedSpan | AllDaySpan
    start_utc: dt.datetime
    end_utc: dt.datetime
    status: EventStatus
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Rsvp:
    id: int
    event_id: int
    person_id: int
    status: RsvpStatus
    source: RsvpSource
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ApiTokenInfo:
    """A stored API token, without its secret (only its SHA-256 is stored)."""

    id: int
    person_id: int
    label: str
    created_at: dt.datetime
