"""Tables for signing in: server-side sessions and the sign-in attempts the rate limiter counts.

A **session** row is what a session cookie names. The cookie holds a random 256-bit id; the row keeps only its
SHA-256 (like API tokens: the id is random, so a fast unsalted digest makes the stored column useless to a
thief), the person, when it began and when it was last used. Deleting the row ends the session everywhere at
once (sign-out, a password change, an administrator).

A **sign-in attempt** row is one attempt the limiter let through and has not yet forgiven (a success forgives
the attempts before it). The rows are the limiter's counts, shared by every web process because they are in the
database (:mod:`calsync.services.signin_limit`). ``subject`` is the SHA-256 of what was attempted (an email, or
a one-time link), so the table holds no email addresses.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from calsync.store.models import Base
from calsync.store.types import UTCDateTime


class WebSessionRow(Base):
    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class SignInAttemptRow(Base):
    __tablename__ = "sign_in_attempts"
    __table_args__ = (Index("ix_sign_in_attempts_subject_address", "subject", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64), index=True)
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
