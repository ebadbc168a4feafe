"""The ORM tables (SQLAlchemy 2 typed mappings). Only the repositories in :mod:`calsync.store` query them.

Instants are :class:`~calsync.store.types.UTCDateTime` (aware UTC on both backends). Event wall-clock times are
naive ``DateTime`` columns next to the zone they are in; all-day events use ``Date`` columns with an inclusive
``end_date``. ``start_utc``/``end_utc`` are derived (recomputed on every change) and indexed for "upcoming".
Enums are stored as their string values with CHECK constraints (``native_enum=False``), identical on both backends.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum as PyEnum

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from calsync.core.model import EventStatus, Module, Role, RsvpSource, RsvpStatus, TimezoneSource
from calsync.store.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(cls: type[PyEnum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class OrganizationRow(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    """Set by an operator (``calsync org disable``): its people cannot sign in, its connections are not synced."""


class OrganizationModuleRow(Base):
    """One row per module switched on for an organization (absent = off)."""

    __tablename__ = "organization_modules"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    module: Mapped[Module] = mapped_column(_enum(Module, "module"), primary_key=True)
    enabled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PersonRow(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ApiTokenRow(Base):
    """An API token: only the SHA-256 of the secret is kept (the token is random, so no salt or slow hash)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class EventRow(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    organizer_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(500))
    timezone: Mapped[str] = mapped_column(String(64))
    timezone_source: Mapped[TimezoneSource] = mapped_column(_enum(TimezoneSource, "timezone_source"))
    all_day: Mapped[bool] = mapped_column(Boolean)
    start_local: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False))
    end_local: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False))
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    start_utc: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    end_utc: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[EventStatus] = mapped_column(_enum(EventStatus, "event_status"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_events_organization_id_end_utc", "organization_id", "end_utc"),)


class RsvpRow(Base):
    __tablename__ = "rsvps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    status: Mapped[RsvpStatus] = mapped_column(_enum(RsvpStatus, "rsvp_status"))
    source: Mapped[RsvpSource] = mapped_column(_enum(RsvpSource, "rsvp_source"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("event_id", "person_id"),)
