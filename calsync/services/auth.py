"""Authentication: API tokens (random, shown once, stored as SHA-256) and email + password sign-in.

A token is 32 random bytes, URL-safe, prefixed ``cs_`` so it is recognisable in logs and secret scanners. Since
it is random, a fast unsalted SHA-256 is enough to make the stored column useless to a thief (unlike passwords,
which get argon2 in :mod:`calsync.services.passwords`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from calsync.core import validation
from calsync.core.model import ApiTokenInfo, Person, Principal
from calsync.core.permissions import can_manage_organization
from calsync.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from calsync.services.access import deny
from calsync.services.context import ServiceContext
from calsync.services.uow import UnitOfWork, unit_of_work

TOKEN_PREFIX = "cs_"
OPERATOR_TOKEN_PREFIX = "cso_"
"""Operator tokens (``calsync init``) look different, so logs and scanners tell them apart; they authenticate
only on the operator endpoints (/api/v1/organizations), see :mod:`calsync.services.organizations`."""
OPERATOR_ONLY = (
    "an operator token manages organizations (/api/v1/organizations) and reads health only; it cannot read or "
    "change an organization's events, people or connections: use a person's API token"
)
DISABLED = "your organization has been disabled by the operator of this calsync; ask them to enable it again"
BAD_TOKEN = (
    "the API token is not valid; send 'Authorization: Bearer <token>' with a token from "
    "POST /api/v1/people/me/tokens (or ask an administrator for one)"
)
BAD_LOGIN = "email or password is wrong"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def principal(person: Person) -> Principal:
    return Principal(
        person_id=person.id,
        organization_id=person.organization_id,
        role=person.role,
        email=person.email,
        timezone=person.timezone,
    )


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``secret`` is shown once and never stored."""

    secret: str
    info: ApiTokenInfo


def _require_enabled(uow: UnitOfWork, person: Person) -> None:
    """People of an organization an operator disabled cannot sign in, nor use their tokens or sessions."""
    organization = uow.organizations.get(person.organization_id)
    if organization is None or organization.disabled:
        raise PermissionDenied(DISABLED)


def authenticate_token(ctx: ServiceContext, token: str) -> Principal:
    if token.startswith(OPERATOR_TOKEN_PREFIX) and len(token) <= 200:
        with unit_of_work(ctx.db, write=False) as uow:
            operator = uow.operator_tokens.find(token_digest(token))
        raise NotAuthenticated(BAD_TOKEN) if operator is None else PermissionDenied(OPERATOR_ONLY)
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise NotAuthenticated(BAD_TOKEN)
    with unit_of_work(ctx.db, write=False) as uow:
        person = uow.tokens.person_for(token_digest(token))
        if person is not None:
            _require_enabled(uow, person)
    if person is None:
        raise NotAuthenticated(BAD_TOKEN)
    return principal(person)


def sign_in(ctx: ServiceContext, email: str, password: str) -> Principal:
    """Check an email and password. Same message for an unknown email and a wrong password."""
    try:
        normalized = validation.email(email)
    except InvalidInput:
        normalized = ""
    with unit_of_work(ctx.db, write=False) as uow:
        found = uow.people.by_email(normalized) if normalized else None
    person, password_hash = found if found is not None else (None, None)
    if not ctx.passwords.verify(password_hash, password) or person is None:
        raise NotAuthenticated(BAD_LOGIN)
    with unit_of_work(ctx.db, write=False) as uow:
        _require_enabled(uow, person)  # only after the password: an unknown email and a disabled one look alike
    return principal(person)


def session_fingerprint(password_hash: str | None) -> str:
    """A short digest of the password hash: sessions carry it, so changing the password ends old sessions."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def fingerprint_for(ctx: ServiceContext, person_id: int) -> str:
    with unit_of_work(ctx.db, write=False) as uow:
        return session_fingerprint(uow.people.password_hash(person_id))


def principal_for_session(ctx: ServiceContext, person_id: int, fingerprint: str) -> Principal:
    """The person a signed session cookie names, if their password has not changed since they signed in."""
    expired = NotAuthenticated("your session has ended; sign in again with POST /api/v1/session")
    with unit_of_work(ctx.db, write=False) as uow:
        person = uow.people.get(person_id)
        password_hash = uow.people.password_hash(person_id)
        if person is not None:
            _require_enabled(uow, person)
    if person is None or password_hash is None:
        raise expired
    if not secrets.compare_digest(session_fingerprint(password_hash), fingerprint):
        raise expired
    return principal(person)


def issue_token(ctx: ServiceContext, actor: Principal, person_id: int, label: str) -> IssuedToken:
    """A new API token for ``person_id``: their own, or anyone's in the organization for an admin."""
    label = validation.optional_text(label, field="label", max_length=200) or "api token"
    with unit_of_work(ctx.db) as uow:
        if person_id != actor.person_id:
            if uow.people.get_in_organization(actor.organization_id, person_id) is None:
                raise NotFound(f"no person with id {person_id} in your organization")
            if not can_manage_organization(actor):
                raise deny("only administrators can create API tokens for other people")
        return _issue(uow, person_id, label, ctx)


def issue_token_unchecked(ctx: ServiceContext, person_id: int, label: str) -> IssuedToken:
    """Bootstrap path (CLI, demo): a token for any person, no caller to check."""
    with unit_of_work(ctx.db) as uow:
        return _issue(uow, person_id, label, ctx)


def _issue(uow: UnitOfWork, person_id: int, label: str, ctx: ServiceContext) -> IssuedToken:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    info = uow.tokens.add(person_id, token_digest(secret), label, ctx.now())
    return IssuedToken(secret=secret, info=info)


def list_tokens(ctx: ServiceContext, actor: Principal) -> list[ApiTokenInfo]:
    with unit_of_work(ctx.db, write=False) as uow:
        return uow.tokens.list_for(actor.person_id)


def revoke_token(ctx: ServiceContext, actor: Principal, token_id: int) -> None:
    with unit_of_work(ctx.db) as uow:
        if not uow.tokens.delete(actor.person_id, token_id):
            raise NotFound(f"you have no API token with id {token_id}")
