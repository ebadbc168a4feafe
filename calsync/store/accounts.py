"""Operator tokens and one-time set-password links, looked up by the SHA-256 of their secret."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from calsync.core.model import Operator
from calsync.store.account_models import OperatorTokenRow, PasswordLinkRow


class OperatorTokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token_sha256: str, label: str, now: dt.datetime) -> Operator:
        row = OperatorTokenRow(token_sha256=token_sha256, label=label, created_at=now)
        self.session.add(row)
        self.session.flush()
        return Operator(token_id=row.id, label=row.label)

    def find(self, token_sha256: str) -> Operator | None:
        row = self.session.scalar(select(OperatorTokenRow).where(OperatorTokenRow.token_sha256 == token_sha256))
        return None if row is None else Operator(token_id=row.id, label=row.label)

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(OperatorTokenRow)) or 0)


class PasswordLinkRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, person_id: int, token_sha256: str, purpose: str, now: dt.datetime, expires_at: dt.datetime) -> None:
        """A new link; the person's other open links end now (only the newest mail works)."""
        self.close_open(person_id, now)
        self.session.add(
            PasswordLinkRow(
                person_id=person_id, token_sha256=token_sha256, purpose=purpose, created_at=now, expires_at=expires_at
            )
        )
        self.session.flush()

    def last_issued(self, person_id: int, purpose: str) -> dt.datetime | None:
        return self.session.scalar(
            select(func.max(PasswordLinkRow.created_at)).where(
                PasswordLinkRow.person_id == person_id, PasswordLinkRow.purpose == purpose
            )
        )

    def take(self, token_sha256: str, now: dt.datetime) -> int | None:
        """Use a link: the person it was for, if it exists, is unused and unexpired; then it (and every other open
        link of that person) is used. The row is locked so two concurrent uses cannot both succeed."""
        row = self.session.scalar(
            select(PasswordLinkRow).where(PasswordLinkRow.token_sha256 == token_sha256).with_for_update()
        )
        if row is None or row.used_at is not None or row.expires_at <= now:
            return None
        person_id = row.person_id
        self.close_open(person_id, now)
        return person_id

    def close_open(self, person_id: int, now: dt.datetime) -> None:
        self.session.execute(
            update(PasswordLinkRow)
            .where(PasswordLinkRow.person_id == person_id, PasswordLinkRow.used_at.is_(None))
            .values(used_at=now)
        )
