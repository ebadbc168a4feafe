"""The unit of work: one transaction per service operation, with the repositories and the change list.

Every service function opens exactly one :func:`unit_of_work`. Writes to events and RSVPs call
:meth:`UnitOfWork.record`; just before the transaction commits, the recorded changes go to every hook in
``Database.change_hooks`` (default :func:`calsync.store.outbox.mark_changed`), on the same session. The calendar-sync
issue marks connections due there, so a change and "this calendar needs work" commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from calsync.core.changes import Change
from calsync.store.accounts import OperatorTokenRepository, PasswordLinkRepository
from calsync.store.db import Database
from calsync.store.events import EventRepository
from calsync.store.organizations import OrganizationRepository
from calsync.store.people import PersonRepository, TokenRepository
from calsync.store.rsvps import RsvpRepository
from calsync.store.sessions import SignInAttemptRepository, WebSessionRepository


class UnitOfWork:
    """Repositories sharing one session and transaction, and the changes recorded so far."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.organizations = OrganizationRepository(session)
        self.people = PersonRepository(session)
        self.tokens = TokenRepository(session)
        self.events = EventRepository(session)
        self.rsvps = RsvpRepository(session)
        self.operator_tokens = OperatorTokenRepository(session)
        self.password_links = PasswordLinkRepository(session)
        self.web_sessions = WebSessionRepository(session)
        self.sign_in_attempts = SignInAttemptRepository(session)
        self.changes: list[Change] = []

    def record(self, change: Change) -> None:
        self.changes.append(change)


@contextmanager
def unit_of_work(db: Database, *, write: bool = True) -> Iterator[UnitOfWork]:
    """One transaction: commits if the block returns, rolls back (recording nothing) if it raises."""
    with db.session(write=write) as session:
        uow = UnitOfWork(session)
        yield uow
        if uow.changes:
            if not write:
                raise RuntimeError("a read-only unit of work recorded changes")
            for hook in db.change_hooks:
                hook(session, tuple(uow.changes))
