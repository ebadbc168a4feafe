"""One-time links to set a password: invitations (an admin adds a person) and resets ("forgot password").

A link is ``<base_url>/set-password?token=<secret>``: 32 random bytes, stored as SHA-256 only (like API tokens),
used once, valid for ``invite_link_hours`` / ``reset_link_hours`` (settings). Issuing a link or using one ends the
person's other open links. The password itself goes through the one password check,
:func:`calsync.core.validation.password`, and is hashed before the link is taken, so a refused password does not
use up the link.

Delivery: the link is mailed through the :class:`~calsync.mail.Mailer`. When no mail server is configured (the
log-only mailer) or the server fails, an *invitation*'s link is handed back to the admin who created the person,
to pass on; a *reset* link never is (the answer to "forgot password" is the same whether or not the email
exists), it is only written to the log by the log-only mailer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from enum import Enum

from calsync.core import validation
from calsync.core.model import Person, Principal
from calsync.core.permissions import can_manage_organization
from calsync.errors import InvalidInput, NotFound
from calsync.mail import Mailer, MailError, Message
from calsync.services import people
from calsync.services.access import deny
from calsync.services.context import ServiceContext
from calsync.services.passwords import check_password
from calsync.services.uow import UnitOfWork, unit_of_work

log = logging.getLogger("calsync.accounts")

INVITE = "invite"
RESET = "reset"
LINK_PATH = "/set-password"
RESET_PAUSE = dt.timedelta(minutes=1)
"""At most one reset mail a minute per person: "forgot password" is open to anyone, so without this it could
flood someone's inbox. A second request within the minute gets the same answer and sends nothing."""
BAD_LINK = (
    "this link is not valid any more (used, expired or replaced by a newer one); "
    "ask for a new one at /forgot-password or ask your administrator"
)


@dataclass(frozen=True)
class LinkSettings:
    """What link delivery needs, built once from settings (services/runtime.py)."""

    mailer: Mailer
    base_url: str
    invite_ttl: dt.timedelta
    reset_ttl: dt.timedelta


class Delivery(str, Enum):
    SENT = "sent"  # mailed through SMTP
    NOT_CONFIGURED = "not_configured"  # no CALSYNC_SMTP_URL: written to the log, the link is in the answer
    FAILED = "failed"  # the mail server failed: the link is in the answer


@dataclass(frozen=True)
class Invitation:
    """What the admin (or operator) who invited someone is told. ``url`` is set only when no mail went out."""

    email: str
    expires_at: dt.datetime
    delivery: Delivery
    url: str | None
    detail: str


@dataclass(frozen=True)
class _Pending:
    person: Person
    organization_name: str
    url: str
    expires_at: dt.datetime
    purpose: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def add_link(
    uow: UnitOfWork, links: LinkSettings, person: Person, organization_name: str, purpose: str, now: dt.datetime
) -> _Pending:
    """Store a new link for ``person`` in the caller's unit of work; mail it with :func:`deliver` after commit."""
    secret = secrets.token_urlsafe(32)
    expires = now + (links.invite_ttl if purpose == INVITE else links.reset_ttl)
    uow.password_links.add(person.id, _digest(secret), purpose, now, expires)
    url = f"{links.base_url.rstrip('/')}{LINK_PATH}?token={secret}"
    return _Pending(person, organization_name, url, expires, purpose)


def _message(pending: _Pending) -> Message:
    when = f"{pending.expires_at:%Y-%m-%d %H:%M} UTC"
    p = pending.person
    if pending.purpose == INVITE:
        subject = f"You are invited to calsync ({pending.organization_name})"
        text = (
            f"Hello {p.name},\n\n"
            f"{pending.organization_name} added you to calsync, which puts the events you RSVP to into your "
            f"Google Calendar or Outlook.\n\nSet your password here (the link works once, until {when}):\n\n"
            f"{pending.url}\n\nThen sign in with {p.email}.\n"
        )
    else:
        subject = "Set a new calsync password"
        text = (
            f"Hello {p.name},\n\nsomeone (hopefully you) asked to set a new calsync password for {p.email}.\n\n"
            f"Set it here (the link works once, until {when}):\n\n{pending.url}\n\n"
            "If you did not ask, ignore this mail: your password stays as it is.\n"
        )
    return Message(to=p.email, subject=subject, text=text)


def deliver(links: LinkSettings, pending: _Pending) -> Invitation:
    """Mail a stored link. Never raises for a mail failure: the invitation says what happened instead."""
    message = _message(pending)
    try:
        links.mailer.send(message)
    except MailError as exc:
        log.warning("could not mail the %s link to %s: %s", pending.purpose, pending.person.email, exc.message)
        return Invitation(pending.person.email, pending.expires_at, Delivery.FAILED, pending.url, exc.message)
    if links.mailer.delivers:
        return Invitation(pending.person.email, pending.expires_at, Delivery.SENT, None, f"mailed to {message.to}")
    return Invitation(
        pending.person.email,
        pending.expires_at,
        Delivery.NOT_CONFIGURED,
        pending.url,
        "no mail server is configured (CALSYNC_SMTP_URL): pass this link on; it is also in the log",
    )


def create_person(
    ctx: ServiceContext, links: LinkSettings, actor: Principal, new: people.NewPerson
) -> tuple[Person, Invitation | None]:
    """An administrator adds a person to their organization. Without a password in the request, the person gets
    an invitation link to set one (person and link commit together); with one, no link is made."""
    if not can_manage_organization(actor):
        raise deny("only administrators can add people")
    checked = people.check(new, ctx.passwords)
    with unit_of_work(ctx.db) as uow:
        organization = uow.organizations.get(actor.organization_id)
        if organization is None:
            raise NotFound("your organization no longer exists")
        person = people.add_checked(uow, actor.organization_id, checked, ctx.now())
        pending = None if checked.password_hash else add_link(uow, links, person, organization.name, INVITE, ctx.now())
    return person, None if pending is None else deliver(links, pending)


def reinvite(ctx: ServiceContext, links: LinkSettings, actor: Principal, person_id: int) -> Invitation:
    """A new set-password link for a person of the admin's organization (the old one expired or got lost)."""
    with unit_of_work(ctx.db) as uow:
        person = uow.people.get_in_organization(actor.organization_id, person_id)
        if person is None:
            raise NotFound(f"no person with id {person_id} in your organization")
        if not can_manage_organization(actor):
            raise deny("only administrators can send set-password links to other people")
        organization = uow.organizations.get(actor.organization_id)
        assert organization is not None
        pending = add_link(uow, links, person, organization.name, INVITE, ctx.now())
    return deliver(links, pending)


def request_reset(ctx: ServiceContext, links: LinkSettings, email: str) -> _Pending | None:
    """ "Forgot password": a reset link for this email if a person of an enabled organization has it, else None.
    The caller answers the same either way and mails the link with :func:`deliver_quietly` (in the background,
    so the answer's timing does not tell either)."""
    try:
        normalized = validation.email(email)
    except InvalidInput:
        return None
    with unit_of_work(ctx.db) as uow:
        found = uow.people.by_email(normalized)
        if found is None:
            return None
        person = found[0]
        organization = uow.organizations.get(person.organization_id)
        if organization is None or organization.disabled:
            return None
        last = uow.password_links.last_issued(person.id, RESET)
        if last is not None and ctx.now() - last < RESET_PAUSE:
            return None
        return add_link(uow, links, person, organization.name, RESET, ctx.now())


def deliver_quietly(links: LinkSettings, pending: _Pending | None) -> None:
    if pending is not None:
        deliver(links, pending)


def set_password(ctx: ServiceContext, secret: str, password: str) -> Person:
    """Use a link: set the password of the person it was made for. A used, expired, replaced or unknown link is
    :class:`InvalidInput` with the same message; so is a link of a person whose organization is disabled."""
    validation.password(password)
    if not secret or len(secret) > 200:
        raise InvalidInput(BAD_LINK, field="token")
    with unit_of_work(ctx.db) as uow:
        person_id = uow.password_links.take(_digest(secret), ctx.now())
        person = None if person_id is None else uow.people.get(person_id)
        organization = None if person is None else uow.organizations.get(person.organization_id)
        if person is None or organization is None or organization.disabled:
            raise InvalidInput(BAD_LINK, field="token")
        # The policy needs the person's email and name; a refusal rolls the transaction back, so the link stays.
        password_hash = ctx.passwords.hash(check_password(password, email=person.email, name=person.name))
        # A new password ends every session the person had (as changing it does: services.auth.change_password).
        uow.web_sessions.delete_for_person(person.id)
        return uow.people.update(person.id, password_hash=password_hash)
