"""Queries for server-side sessions and the sign-in limiter's attempts (tables in :mod:`calsync.store.auth_models`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from calsync.store.auth_models import SignInAttemptRow, WebSessionRow


class WebSessionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, id_sha256: str, person_id: int, now: dt.datetime) -> None:
        self.session.add(WebSessionRow(id_sha256=id_sha256, person_id=person_id, created_at=now, last_seen_at=now))
        self.session.flush()

    def find(self, id_sha256: str) -> tuple[int, dt.datetime, dt.datetime] | None:
        """(person id, created at, last seen at) of the session with this id digest."""
        row = self.session.execute(
            select(WebSessionRow.person_id, WebSessionRow.created_at, WebSessionRow.last_seen_at).where(
                WebSessionRow.id_sha256 == id_sha256
            )
        ).one_or_none()
        return None if row is None else (row[0], row[1], row[2])

    def touch(self, id_sha256: str, now: dt.datetime) -> None:
        self.session.execute(update(WebSessionRow).where(WebSessionRow.id_sha256 == id_sha256).values(last_seen_at=now))

    def delete(self, id_sha256: str) -> bool:
        result = self.session.execute(delete(WebSessionRow).where(WebSessionRow.id_sha256 == id_sha256))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def delete_for_person(self, person_id: int, *, keep: str | None = None) -> int:
        """End every session of a person (but ``keep``, the digest of the one making the request). How many ended."""
        query = delete(WebSessionRow).where(WebSessionRow.person_id == person_id)
        if keep is not None:
            query = query.where(WebSessionRow.id_sha256 != keep)
        return int(self.session.execute(query).rowcount)  # type: ignore[attr-defined]

    def count_for_person(self, person_id: int, *, idle_since: dt.datetime, created_since: dt.datetime) -> int:
        """Sessions of a person still alive (used within the idle time and begun within the lifetime)."""
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(WebSessionRow)
                .where(
                    WebSessionRow.person_id == person_id,
                    WebSessionRow.last_seen_at > idle_since,
                    WebSessionRow.created_at > created_since,
                )
            )
            or 0
        )

    def delete_expired(self, *, idle_since: dt.datetime, created_since: dt.datetime) -> int:
        """Forget sessions that can no longer be used (housekeeping at sign-in)."""
        query = delete(WebSessionRow).where(
            (WebSessionRow.last_seen_at <= idle_since) | (WebSessionRow.created_at <= created_since)
        )
        return int(self.session.execute(query).rowcount)  # type: ignore[attr-defined]


class SignInAttemptRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, subject: str, address: str, now: dt.datetime) -> int:
        row = SignInAttemptRow(subject=subject, address=address, attempted_at=now)
        self.session.add(row)
        self.session.flush()
        return row.id

    def since(self, subject: str, address: str, since: dt.datetime) -> tuple[int, dt.datetime | None]:
        """How many attempts for (subject, address) after ``since``, and the oldest of them."""
        count, oldest = self.session.execute(
            select(func.count(), func.min(SignInAttemptRow.attempted_at)).where(
                SignInAttemptRow.subject == subject,
                SignInAttemptRow.address == address,
                SignInAttemptRow.attempted_at > since,
            )
        ).one()
        return int(count), oldest

    def from_address_since(self, address: str, since: dt.datetime) -> tuple[int, dt.datetime | None]:
        """How many attempts from ``address`` (any subject) after ``since``, and the oldest of them."""
        count, oldest = self.session.execute(
            select(func.count(), func.min(SignInAttemptRow.attempted_at)).where(
                SignInAttemptRow.address == address, SignInAttemptRow.attempted_at > since
            )
        ).one()
        return int(count), oldest

    def delete(self, attempt_id: int) -> None:
        self.session.execute(delete(SignInAttemptRow).where(SignInAttemptRow.id == attempt_id))

    def forgive(self, subject: str, address: str) -> None:
        """A success: the failures before it for this (subject, address) no longer count."""
        self.session.execute(
            delete(SignInAttemptRow).where(SignInAttemptRow.subject == subject, SignInAttemptRow.address == address)
        )

    def delete_before(self, before: dt.datetime) -> None:
        self.session.execute(delete(SignInAttemptRow).where(SignInAttemptRow.attempted_at <= before))
