"""People (globally unique email, one organization, a role, a zone, an optional password hash) and API tokens."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from calsync.core.model import ApiTokenInfo, Person, Role
from calsync.errors import Conflict
from calsync.store.models import ApiTokenRow, PersonRow
from calsync.store.types import storable_id


def _person(row: PersonRow) -> Person:
    return Person(
        id=row.id,
        organization_id=row.organization_id,
        email=row.email,
        name=row.name,
        timezone=row.timezone,
        role=row.role,
        has_password=row.password_hash is not None,
        created_at=row.created_at,
    )


class PersonRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        *,
        organization_id: int,
        email: str,
        name: str,
        timezone: str,
        role: Role,
        password_hash: str | None,
        now: dt.datetime,
    ) -> Person:
        """Insert a person. A taken email is a :class:`Conflict` (checked first, and again by the unique index)."""
        if self.session.scalar(select(PersonRow.id).where(PersonRow.email == email)) is not None:
            raise Conflict(f"{email} is already registered; each email belongs to one person")
        row = PersonRow(
            organization_id=organization_id,
            email=email,
            name=name,
            timezone=timezone,
            role=role,
            password_hash=password_hash,
            created_at=now,
        )
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except IntegrityError as exc:
            raise Conflict(f"{email} is already registered; each email belongs to one person") from exc
        return _person(row)

    def get(self, person_id: int) -> Person | None:
        if not storable_id(person_id):
            return None
        row = self.session.get(PersonRow, person_id)
        return None if row is None else _person(row)

    def get_in_organization(self, organization_id: int, person_id: int) -> Person | None:
        if not storable_id(person_id):
            return None
        row = self.session.get(PersonRow, person_id)
        return None if row is None or row.organization_id != organization_id else _person(row)

    def many_in_organization(self, organization_id: int, person_ids: Iterable[int]) -> dict[int, Person]:
        ids = sorted({i for i in person_ids if storable_id(i)})
        if not ids:
            return {}
        rows = self.session.scalars(
            select(PersonRow).where(PersonRow.organization_id == organization_id, PersonRow.id.in_(ids))
        )
        return {row.id: _person(row) for row in rows}

    def by_email(self, email: str) -> tuple[Person, str | None] | None:
        """The person with this (normalized) email and their password hash."""
        row = self.session.scalar(select(PersonRow).where(PersonRow.email == email))
        return None if row is None else (_person(row), row.password_hash)

    def password_hash(self, person_id: int) -> str | None:
        return self.session.scalar(select(PersonRow.password_hash).where(PersonRow.id == person_id))

    def list_in_organization(self, organization_id: int) -> list[Person]:
        rows = self.session.scalars(
            select(PersonRow).where(PersonRow.organization_id == organization_id).order_by(PersonRow.id)
        )
        return [_person(row) for row in rows]

    def update(
        self, person_id: int, *, name: str | None = None, timezone: str | None = None, password_hash: str | None = None
    ) -> Person:
        row = self.session.get(PersonRow, person_id, with_for_update=True)
        assert row is not None
        if name is not None:
            row.name = name
        if timezone is not None:
            row.timezone = timezone
        if password_hash is not None:
            row.password_hash = password_hash
        self.session.flush()
        return _person(row)


class TokenRepository:
    """API tokens, looked up by the SHA-256 of the presented secret."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, person_id: int, token_sha256: str, label: str, now: dt.datetime) -> ApiTokenInfo:
        row = ApiTokenRow(person_id=person_id, token_sha256=token_sha256, label=label, created_at=now)
        self.session.add(row)
        self.session.flush()
        return ApiTokenInfo(id=row.id, person_id=row.person_id, label=row.label, created_at=row.created_at)

    def person_for(self, token_sha256: str) -> Person | None:
        row = self.session.scalar(
            select(PersonRow)
            .join(ApiTokenRow, ApiTokenRow.person_id == PersonRow.id)
            .where(ApiTokenRow.token_sha256 == token_sha256)
        )
        return None if row is None else _person(row)

    def list_for(self, person_id: int) -> list[ApiTokenInfo]:
        rows = self.session.scalars(
            select(ApiTokenRow).where(ApiTokenRow.person_id == person_id).order_by(ApiTokenRow.id)
        )
        return [ApiTokenInfo(id=r.id, person_id=r.person_id, label=r.label, created_at=r.created_at) for r in rows]

    def delete(self, person_id: int, token_id: int) -> bool:
        if not storable_id(token_id):
            return False
        result = self.session.execute(
            delete(ApiTokenRow).where(ApiTokenRow.id == token_id, ApiTokenRow.person_id == person_id)
        )
        return bool(getattr(result, "rowcount", 0))
