"""Tables for running an installation: operator API tokens and one-time set-password links (migration ``0006``).

Both store only the SHA-256 of their random secret (like ``api_tokens``): the secret is shown or mailed once, and
a stolen database row cannot be turned back into a working token or link.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from calsync.store.models import Base
from calsync.store.types import UTCDateTime


class OperatorTokenRow(Base):
    """An operator's API token: bound to no organization, so it can provision organizations and nothing else."""

    __tablename__ = "operator_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PasswordLinkRow(Base):
    """A one-time link to set a password: an invitation (new person) or a reset (forgot password).

    Used once (``used_at``), valid until ``expires_at``; issuing a new link for a person or using one ends the
    person's other open links, so only the newest mail works.
    """

    __tablename__ = "password_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
