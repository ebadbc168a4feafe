"""The sign-in limiter: one for every way to sign in (the API, the sign-in page, and links that set a password),
its counts in the database so every web process shares them.

Rules: within any 5 minutes, at most 5 failed attempts for one subject (an email, or a one-time link) from one
client address, and at most 100 failed attempts from one address whatever the subject. Once over either limit,
attempts are refused (:class:`~calsync.errors.TooManyAttempts`, HTTP 429) **without checking the password** (no
argon2 time, nothing revealed) until the oldest counted failure is 5 minutes old. A success forgives the failures
for its (subject, address). Keyed by address as well as subject so someone guessing a person's password is slowed
down without locking the real person out from their own address; we deliberately do not lock an email out from
every address (that would let anyone lock anyone out), and rely on the password policy for the rest.

**Shared and race-free.** An attempt is first *reserved*: its row is inserted and committed, and only then are
the rows counted (in a second transaction). An attempt goes ahead only if the count, its own row included, is
within the limit. Of any set of concurrent attempts, the one that counts last sees every other's row (each
committed before counting), so no more than the limit can ever go ahead at once, whichever process they arrive
at. A refused attempt deletes its own row (being refused does not extend the wait); a failed one keeps it.

The client address is what :func:`calsync.web.client.client_address` says (forwarding headers only from
``CALSYNC_TRUSTED_PROXIES``). Rows older than the window are deleted as new failures arrive.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

from calsync.core import validation
from calsync.errors import InvalidInput, TooManyAttempts
from calsync.services.context import ServiceContext
from calsync.services.uow import unit_of_work
from calsync.store.sessions import SignInAttemptRepository

MAX_PER_SUBJECT = 5
MAX_PER_ADDRESS = 100
WINDOW = dt.timedelta(minutes=5)
MAX_ADDRESS = 64


def too_many_message(wait: dt.timedelta) -> str:
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many sign-in attempts. Try again in {minutes} {unit}."


def email_subject(email: str) -> str:
    """The subject for signing in with an email: the normalized email if it is one, else the text as typed."""
    try:
        normalized = validation.email(email)
    except InvalidInput:
        normalized = email.strip().lower()
    return "email:" + normalized


def _digest(subject: str) -> str:
    return hashlib.sha256(subject.encode("utf-8", "surrogatepass")).hexdigest()


def _address(address: str) -> str:
    return address[:MAX_ADDRESS]


@dataclass(frozen=True)
class Attempt:
    """A reserved attempt: call :meth:`succeeded` or :meth:`failed` once the secret was checked."""

    ctx: ServiceContext
    attempt_id: int
    subject: str
    address: str

    def succeeded(self) -> None:
        with unit_of_work(self.ctx.db) as uow:
            uow.sign_in_attempts.forgive(self.subject, self.address)

    def failed(self) -> None:
        """The row stays and counts; rows past the window are cleared while we are here."""
        with unit_of_work(self.ctx.db) as uow:
            uow.sign_in_attempts.delete_before(self.ctx.now() - WINDOW)


def begin(ctx: ServiceContext, subject: str, address: str) -> Attempt:
    """Reserve one attempt for ``subject`` from ``address``, or raise :class:`TooManyAttempts`."""
    digest, address = _digest(subject), _address(address)
    now = ctx.now()
    with unit_of_work(ctx.db) as uow:
        attempt_id = uow.sign_in_attempts.add(digest, address, now)
    with unit_of_work(ctx.db) as uow:
        wait = _wait(uow.sign_in_attempts, digest, address, now, allowed=(MAX_PER_SUBJECT, MAX_PER_ADDRESS))
        if wait is not None:
            uow.sign_in_attempts.delete(attempt_id)
            raise TooManyAttempts(too_many_message(wait), retry_after=wait.total_seconds())
    return Attempt(ctx, attempt_id, digest, address)


def retry_after(ctx: ServiceContext, subject: str, address: str) -> dt.timedelta | None:
    """How long until the next attempt would be let through (None: now). Reserves nothing."""
    with unit_of_work(ctx.db, write=False) as uow:
        return _wait(
            uow.sign_in_attempts,
            _digest(subject),
            _address(address),
            ctx.now(),
            allowed=(MAX_PER_SUBJECT - 1, MAX_PER_ADDRESS - 1),
        )


def _wait(
    attempts: SignInAttemptRepository, subject: str, address: str, now: dt.datetime, *, allowed: tuple[int, int]
) -> dt.timedelta | None:
    since = now - WINDOW
    waits: list[dt.timedelta] = []
    for (count, oldest), limit in zip(
        (attempts.since(subject, address, since), attempts.from_address_since(address, since)), allowed, strict=True
    ):
        if count > limit and oldest is not None:
            waits.append(max(oldest + WINDOW - now, dt.timedelta(seconds=1)))
    return max(waits) if waits else None
