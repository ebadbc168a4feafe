"""The API's request and response bodies (pydantic). Requests forbid unknown fields so a typo is an error.

Wall-clock times are ISO 8601 without an offset (``2026-03-08T09:30:00``); instants (``*_utc``, ``created_at``,
``from``) carry one. All-day events use ``start_date``/``end_date`` (inclusive) and no times.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from calsync.core import validation
from calsync.core.model import (
    AllDaySpan,
    ApiTokenInfo,
    Event,
    EventStatus,
    Module,
    Organization,
    Person,
    Role,
    Rsvp,
    RsvpSource,
    RsvpStatus,
    TimezoneSource,
)


class Request(BaseModel):
    """Every request body: unknown fields refused, and no string that a database cannot store.

    Checking here, on every string field of every body (including ones that are only looked up, such as the
    sign-in email), is what keeps a NUL or a lone surrogate from reaching PostgreSQL as a 500; the services' own
    checks (:mod:`calsync.core.validation`) then refuse control characters field by field.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _storable(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            validation.storable(value, field=info.field_name or "body")
        return value


# --- organizations -------------------------------------------------------------------------------------------


class OrganizationOut(BaseModel):
    id: int
    name: str
    modules: dict[Module, bool] = Field(description="Every module and whether it is on. Calendar sync needs events.")
    created_at: dt.datetime

    @classmethod
    def of(cls, org: Organization) -> OrganizationOut:
        return cls(id=org.id, name=org.name, modules={m: m in org.modules for m in Module}, created_at=org.created_at)


class ModuleIn(Request):
    enabled: bool


# --- people and tokens ---------------------------------------------------------------------------------------


class PersonOut(BaseModel):
    id: int
    organization_id: int
    email: str
    name: str
    timezone: str
    role: Role
    has_password: bool
    created_at: dt.datetime

    @classmethod
    def of(cls, p: Person) -> PersonOut:
        return cls(
            id=p.id,
            organization_id=p.organization_id,
            email=p.email,
            name=p.name,
            timezone=p.timezone,
            role=p.role,
            has_password=p.has_password,
            created_at=p.created_at,
        )


class PersonIn(Request):
    email: str = Field(examples=["ada@example.org"])
    name: str
    timezone: str = Field(description="IANA time zone", examples=["Europe/Berlin"])
    role: Role = Role.MEMBER
    password: str | None = Field(default=None, description="Optional; at least 8 characters. Enables sign-in.")


class PersonPatchIn(Request):
    name: str | None = None
    timezone: str | None = Field(default=None, description="IANA zone. Existing events do not move.")
    password: str | None = None


class TokenIn(Request):
    label: str = Field(default="api token", max_length=200)


class TokenOut(BaseModel):
    id: int
    person_id: int
    label: str
    created_at: dt.datetime

    @classmethod
    def of(cls, t: ApiTokenInfo) -> TokenOut:
        return cls(id=t.id, person_id=t.person_id, label=t.label, created_at=t.created_at)


class IssuedTokenOut(TokenOut):
    token: str = Field(description="The secret. Shown only now: store it; calsync keeps only its SHA-256.")


class SessionIn(Request):
    email: str
    password: str


# --- events --------------------------------------------------------------------------------------------------


class EventIn(Request):
    title: str = Field(examples=["Quarterly planning"])
    description: str | None = None
    location: str | None = None
    timezone: str | None = Field(
        default=None, description="IANA zone of start/end. Omit to use the organizer's zone (fixed at creation)."
    )
    all_day: bool = False
    start: dt.datetime | None = Field(
        default=None, description="Wall-clock start, no offset", examples=["2026-05-01T09:30:00"]
    )
    end: dt.datetime | None = Field(
        default=None, description="Wall-clock end, no offset", examples=["2026-05-01T10:30:00"]
    )
    start_date: dt.date | None = Field(default=None, description="All-day events: first day")
    end_date: dt.date | None = Field(default=None, description="All-day events: last day, inclusive")


class EventPatchIn(Request):
    title: str | None = None
    description: str | None = None
    location: str | None = None
    timezone: str | None = Field(default=None, description="null switches to the organizer's current zone")
    all_day: bool | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None


class EventOut(BaseModel):
    id: int
    organization_id: int
    organizer_id: int
    title: str
    description: str
    location: str
    timezone: str
    timezone_source: TimezoneSource = Field(description="'event': its own zone; 'organizer': the organizer's")
    all_day: bool
    start: dt.datetime | None = Field(description="Wall-clock start in `timezone` (timed events)")
    end: dt.datetime | None
    start_date: dt.date | None = Field(description="First day (all-day events)")
    end_date: dt.date | None = Field(description="Last day, inclusive (all-day events)")
    start_utc: dt.datetime
    end_utc: dt.datetime
    status: EventStatus
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, e: Event) -> EventOut:
        span = e.span
        dates = span if isinstance(span, AllDaySpan) else None
        times = None if isinstance(span, AllDaySpan) else span
        return cls(
            id=e.id,
            organization_id=e.organization_id,
            organizer_id=e.organizer_id,
            title=e.title,
            description=e.description,
            location=e.location,
            timezone=e.timezone,
            timezone_source=e.timezone_source,
            all_day=e.all_day,
            start=times.start_local if times else None,
            end=times.end_local if times else None,
            start_date=dates.start_date if dates else None,
            end_date=dates.end_date if dates else None,
            start_utc=e.start_utc,
            end_utc=e.end_utc,
            status=e.status,
            version=e.version,
            created_at=e.created_at,
            updated_at=e.updated_at,
        )


class InviteIn(Request):
    person_ids: list[int] = Field(description="People of your organization to invite")


# --- RSVPs ---------------------------------------------------------------------------------------------------


class RsvpIn(Request):
    status: RsvpStatus = Field(description="accepted, tentative or declined")


class RsvpOut(BaseModel):
    id: int
    event_id: int
    person_id: int
    status: RsvpStatus
    source: RsvpSource = Field(description="Who set it last: platform, google or microsoft")
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, r: Rsvp) -> RsvpOut:
        return cls(
            id=r.id,
            event_id=r.event_id,
            person_id=r.person_id,
            status=r.status,
            source=r.source,
            version=r.version,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )


class MyRsvpOut(RsvpOut):
    event: EventOut


class Health(BaseModel):
    status: str
    database: str
