"""The API's request and response bodies (pydantic). Requests forbid unknown fields so a typo is an error.

Wall-clock times are ISO 8601 without an offset (``2026-03-08T09:30:00``); instants (``*_utc``, ``created_at``,
``from``) carry one. All-day events use ``start_date``/``end_date`` (inclusive) and no times.

The OpenAPI document says what the API does (issue 13; ``tests/fuzz`` checks it with every schemathesis check):

* wall-clock times are strings with a pattern and **no** ``format: date-time`` (which promises an offset);
  instants are ``date-time`` and must carry an offset, so ``from=1700000000`` is refused like any other instant
  without one;
* booleans and ids are JSON booleans and integers, never coerced from ``0`` or ``"1"``;
* single-field rules are in the schema: lengths, the characters text may hold (no control characters; a
  description may hold tab and line breaks), the accepted time zones as an ``enum``. Rules spanning fields (end
  after start, a time that exists in its zone) cannot be stated in JSON Schema: they are 422 with a message.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

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
from calsync.core.timezones import accepted_zones

# ---- value types: what each is, said the same way to the validator and to the OpenAPI document ------------------

SINGLE_LINE = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
MULTI_LINE = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
WALL_CLOCK = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$"
DAY = r"^\d{4}-\d{2}-\d{2}$"
INSTANT = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$"


def _text(max_length: int, pattern: str = SINGLE_LINE, **extra: Any) -> WithJsonSchema:
    """How text is documented: its length, and in words the characters it may hold (the services refuse the
    others with a message that names the character). Not as a ``pattern``: schemathesis' generators take minutes
    per operation to satisfy a negated character class together with a length."""
    allowed = "tab and line breaks but no other" if pattern == MULTI_LINE else "no"
    note = f"At most {max_length} characters; {allowed} control characters (U+0000-U+001F, U+007F-U+009F)."
    return WithJsonSchema({"type": "string", "maxLength": max_length, "description": note, **extra})


def _shaped(pattern: str, example: str, message: str) -> BeforeValidator:
    """A string of ``pattern`` (Python callers may pass the parsed value), else ``message``."""
    compiled = re.compile(pattern)

    def check(value: object) -> object:
        if isinstance(value, dt.date):
            return value
        if not isinstance(value, str) or not compiled.match(value):
            raise ValueError(f"{message}, e.g. {example}")
        return value

    return BeforeValidator(check)


WallClock = Annotated[
    dt.datetime,
    _shaped(WALL_CLOCK, "2026-05-01T09:30:00", "must be a wall-clock time without a UTC offset (the zone is "
            "'timezone')"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": WALL_CLOCK,
            "description": "Wall-clock time, no offset: it is in the event's `timezone`",
            "examples": ["2026-05-01T09:30:00"],
        }
    ),
]
Day = Annotated[
    dt.date,
    _shaped(DAY, "2026-05-01", "must be a date"),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DAY}),
]
Instant = Annotated[
    dt.datetime,
    _shaped(INSTANT, "2026-03-08T14:00:00Z", "must be an instant with a UTC offset"),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": INSTANT}),
]
TimeZoneName = Annotated[
    str,
    WithJsonSchema({"type": "string", "enum": sorted(accepted_zones()), "description": "An IANA time zone"}),
]
Title = Annotated[str, Field(max_length=validation.MAX_TITLE), _text(validation.MAX_TITLE, minLength=1)]
Location = Annotated[str, Field(max_length=validation.MAX_LOCATION), _text(validation.MAX_LOCATION)]
Description = Annotated[
    str, Field(max_length=validation.MAX_DESCRIPTION), _text(validation.MAX_DESCRIPTION, MULTI_LINE)
]
Name = Annotated[str, Field(max_length=validation.MAX_NAME), _text(validation.MAX_NAME, minLength=1)]
Email = Annotated[
    str, Field(max_length=validation.MAX_EMAIL), _text(validation.MAX_EMAIL, minLength=3, examples=["ada@example.org"])
]
Label = Annotated[str, Field(max_length=200), _text(200)]
Password = Annotated[
    str,
    Field(max_length=validation.MAX_PASSWORD),
    WithJsonSchema({"type": "string", "minLength": validation.MIN_PASSWORD, "maxLength": validation.MAX_PASSWORD}),
]


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. invalid_input, not_found, too_large")
    message: str = Field(description="What went wrong and what to do, for a person")
    field: str | None = Field(description="The field at fault, when one is")


class ErrorOut(BaseModel):
    """Every error answer of the API (calsync.web.errors)."""

    error: ErrorDetail


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
    enabled: StrictBool


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
    email: Email
    name: Name
    timezone: TimeZoneName = Field(description="IANA time zone", examples=["Europe/Berlin"])
    role: Role = Role.MEMBER
    password: Password | None = Field(default=None, description="Optional. Enables sign-in.")


class PersonPatchIn(Request):
    name: Name = None  # type: ignore[assignment]  # absent: unchanged; null is not a name
    timezone: TimeZoneName = Field(default=None, description="IANA zone. Existing events do not move.")  # type: ignore[assignment]
    password: Password = Field(  # type: ignore[assignment]
        default=None,
        description="A new password (12+ characters, not easy to guess, not your email or name). Needs "
        "current_password when you have one; ends every other session of yours.",
    )
    current_password: str | None = Field(default=None, description="Your current password, to change it.")


class TokenIn(Request):
    label: Label = "api token"


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
    email: Annotated[str, Field(max_length=validation.MAX_EMAIL)]
    password: Annotated[str, Field(max_length=validation.MAX_PASSWORD)]


class SessionOut(BaseModel):
    person: PersonOut
    csrf_token: str | None = Field(
        description="Send as X-CSRF-Token on unsafe calls authenticated by the session cookie (null for a Bearer "
        "token, which needs none)."
    )


class SessionsEndedOut(BaseModel):
    ended: int = Field(description="How many sessions ended (API tokens are not affected).")


# --- events --------------------------------------------------------------------------------------------------


class EventIn(Request):
    title: Title = Field(examples=["Quarterly planning"])
    description: Description | None = None
    location: Location | None = None
    timezone: TimeZoneName | None = Field(
        default=None, description="IANA zone of start/end. Omit to use the organizer's zone (fixed at creation)."
    )
    all_day: StrictBool = False
    start: WallClock | None = Field(default=None, description="Wall-clock start, no offset")
    end: WallClock | None = Field(default=None, description="Wall-clock end, no offset")
    start_date: Day | None = Field(default=None, description="All-day events: first day")
    end_date: Day | None = Field(default=None, description="All-day events: last day, inclusive")


class EventPatchIn(Request):
    title: Title = None  # type: ignore[assignment]  # absent: unchanged; null is not a title
    description: Description | None = None
    location: Location | None = None
    timezone: TimeZoneName | None = Field(default=None, description="null switches to the organizer's current zone")
    all_day: StrictBool = None  # type: ignore[assignment]
    start: WallClock | None = None
    end: WallClock | None = None
    start_date: Day | None = None
    end_date: Day | None = None


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
    start: WallClock | None = Field(description="Wall-clock start in `timezone`, no offset (timed events)")
    end: WallClock | None = Field(description="Wall-clock end in `timezone`, no offset (timed events)")
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
    person_ids: list[StrictInt] = Field(description="People of your organization to invite")


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
