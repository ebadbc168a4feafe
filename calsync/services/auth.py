"""Authentication: API tokens (random, shown once, stored as SHA-256), email + password sign-in (through the
shared limiter, :mod:`calsync.services.signin_limit`), server-side sessions, and changing a password.

A session is a row (:class:`~calsync.store.auth_models.WebSessionRow`) named by a random 256-bit id that only the
cookie holds; the row keeps its SHA-256. Ending a session deletes the row, so it ends for every copy of the cookie
at once: sign-out, a password change (every other session), an administrator (all of a person's), or the idle
and absolute lifetimes (:class:`SessionPolicy`, from the settings).

A token is 32 random bytes, URL-safe, prefixed ``cs_`` so it is recognisable in logs and secret scanners. Since
it is random, a fast unsalted SHA-256 is enough to make the stored column useless to a thief (unlike passwords,
which get argon2 in :mod:`calsync.services.passwords`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from calsync.core import validation
from calsync.core.model import ApiTokenInfo, Person, Principal
from calsync.core.permissions import can_manage_organization
from calsync.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from calsync.services import signin_limit
from calsync.services.access import deny
from calsync.services.context import ServiceContext
from calsync.services.passwords import check_password
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


def sign_in(ctx: ServiceContext, email: str, password: str, *, address: str) -> Principal:
    """Check an email and password, through the sign-in limiter (``address`` is the client's). Same message for an
    unknown email and a wrong password; :class:`TooManyAttempts` without checking anything once over the limit."""
    attempt = signin_limit.begin(ctx, signin_limit.email_subject(email), address)
    try:
        normalized = validation.email(email)
    except InvalidInput:
        normalized = ""
    with unit_of_work(ctx.db, write=False) as uow:
        found = uow.people.by_email(normalized) if normalized else None
    person, password_hash = found if found is not None else (None, None)
    if not ctx.passwords.verify(password_hash, password) or person is None:
        attempt.failed()
        raise NotAuthenticated(BAD_LOGIN)
    attempt.succeeded()
    with unit_of_work(ctx.db, write=False) as uow:
        _require_enabled(uow, person)  # only after the password: an unknown email and a disabled one look alike
    return principal(person)


# ---- server-side sessions ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: ``idle`` since it was last used, ``lifetime`` since sign-in (settings)."""

    idle: dt.timedelta = dt.timedelta(hours=12)
    lifetime: dt.timedelta = dt.timedelta(days=14)


TOUCH_EVERY = dt.timedelta(minutes=1)
"""``last_seen_at`` is written at most once a minute per session (not on every request), so the idle limit is
exact to within a minute."""
SESSION_ENDED = "your session has ended; sign in again (POST /api/v1/session or the sign-in page)"
MAX_SESSION_ID = 100


def session_digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def start_session(ctx: ServiceContext, person_id: int, policy: SessionPolicy) -> str:
    """A new session for a person who just proved who they are: the random id for the cookie (only its digest is
    stored). Sessions that can no longer be used are forgotten at the same time."""
    session_id = secrets.token_urlsafe(32)
    now = ctx.now()
    with unit_of_work(ctx.db) as uow:
        uow.web_sessions.delete_expired(idle_since=now - policy.idle, created_since=now - policy.lifetime)
        uow.web_sessions.add(session_digest(session_id), person_id, now)
    return session_id


def session_principal(ctx: ServiceContext, session_id: str, policy: SessionPolicy) -> Principal:
    """The person whose live session ``session_id`` is, or :class:`NotAuthenticated`. Extends the idle time."""
    if not session_id or len(session_id) > MAX_SESSION_ID:
        raise NotAuthenticated(SESSION_ENDED)
    digest = session_digest(session_id)
    now = ctx.now()
    with unit_of_work(ctx.db, write=False) as uow:
        found = uow.web_sessions.find(digest)
        person = uow.people.get(found[0]) if found is not None else None
        if person is not None:
            _require_enabled(uow, person)
    if found is None or person is None:
        raise NotAuthenticated(SESSION_ENDED)
    _, created_at, last_seen_at = found
    if now - last_seen_at >= policy.idle or now - created_at >= policy.lifetime:
        end_session(ctx, session_id)
        raise NotAuthenticated(SESSION_ENDED)
    if now - last_seen_at >= TOUCH_EVERY:
        with unit_of_work(ctx.db) as uow:
            uow.web_sessions.touch(digest, now)
    return principal(person)


def end_session(ctx: ServiceContext, session_id: str) -> None:
    """Sign-out: the session ends on the server, so a copy of the cookie no longer works anywhere."""
    if not session_id or len(session_id) > MAX_SESSION_ID:
        return
    with unit_of_work(ctx.db) as uow:
        uow.web_sessions.delete(session_digest(session_id))


def end_sessions(ctx: ServiceContext, actor: Principal, person_id: int) -> int:
    """End every session of ``person_id`` (yourself, or anyone in your organization for an administrator).
    Returns how many ended. API tokens are not touched (they are revoked one by one)."""
    with unit_of_work(ctx.db) as uow:
        if person_id != actor.person_id:
            if uow.people.get_in_organization(actor.organization_id, person_id) is None:
                raise NotFound(f"no person with id {person_id} in your organization")
            if not can_manage_organization(actor):
                raise deny("only administrators can end other people's sessions")
        return uow.web_sessions.delete_for_person(person_id)


def live_sessions(ctx: ServiceContext, person_id: int, policy: SessionPolicy) -> int:
    now = ctx.now()
    with unit_of_work(ctx.db, write=False) as uow:
        return uow.web_sessions.count_for_person(
            person_id, idle_since=now - policy.idle, created_since=now - policy.lifetime
        )


def change_password(
    ctx: ServiceContext,
    actor: Principal,
    *,
    current: str | None,
    new: str,
    address: str,
    keep_session: str | None = None,
) -> None:
    """Change your own password. The current one is required when you have one (checked through the sign-in
    limiter, so a borrowed session cannot guess it), the new one must pass the policy, and every other session of
    yours ends (``keep_session``, the id of the session making the request, stays signed in)."""
    with unit_of_work(ctx.db, write=False) as uow:
        person = uow.people.get(actor.person_id)
        password_hash = uow.people.password_hash(actor.person_id)
    if person is None:
        raise NotAuthenticated(SESSION_ENDED)
    if password_hash is not None:
        if not current:
            raise InvalidInput(
                "current_password is required to change your password; send the password you sign in with",
                field="current_password",
            )
        attempt = signin_limit.begin(ctx, signin_limit.email_subject(person.email), address)
        if not ctx.passwords.verify(password_hash, current):
            attempt.failed()
            raise InvalidInput(
                "current_password is not your current password; type the password you sign in with",
                field="current_password",
            )
        attempt.succeeded()
    new_hash = ctx.passwords.hash(check_password(new, email=person.email, name=person.name))
    with unit_of_work(ctx.db) as uow:
        uow.people.update(actor.person_id, password_hash=new_hash)
        uow.web_sessions.delete_for_person(actor.person_id, keep=session_digest(keep_session) if keep_session else None)


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
