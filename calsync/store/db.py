"""Engines and sessions for SQLite and PostgreSQL: the same code on both.

SQLite (the embedded default, one file in the data directory) is opened with foreign keys on, WAL journaling (so
readers do not block the writer), a busy timeout, and explicit transactions: write units of work begin with
``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of failing half-way when a read lock cannot
be upgraded. PostgreSQL uses its defaults (READ COMMITTED); writers lock the rows they change
(``SELECT ... FOR UPDATE``) in the repositories.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from calsync.errors import ConfigurationError
from calsync.store.outbox import ChangeHook, mark_changed

SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_POOL_SIZE = 32
"""Connections kept per engine: a worker's sync threads (connections at once x entries at once) each hold one
briefly; a small pool made them queue inside SQLAlchemy (bench/results/push_profile.txt)."""
_BEGIN_OPTION = "calsync_sqlite_begin"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``; SQLite files get their directory created and the pragmas above."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigurationError(
            f"{url!r} is not a database URL; use e.g. sqlite:////path/calsync.db or "
            "postgresql+psycopg://user@host:5432/dbname"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            echo=echo,
            connect_args={"check_same_thread": False},
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_SIZE,
        )
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)
    raise ConfigurationError(f"unsupported database {backend!r}; calsync runs on sqlite or postgresql")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (pysqlite's own is lazy and wrong)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Database:
    """One database: an engine, session factories for writing and for reading, and the change hooks.

    ``change_hooks`` run inside every writing unit of work that recorded changes, before it commits (see
    :mod:`calsync.store.outbox`). Tests append a recorder; the sync issue fills in :func:`mark_changed`.
    """

    def __init__(self, url: str, *, echo: bool = False, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.url = url
        self.clock = clock or _system_clock
        """The clock the change hooks read (``session.info["clock"]``): the one the services run on, so work is
        marked due at the same time the workers compare it with (a simulated clock in the simulation)."""
        self.engine = make_engine(url, echo=echo)
        self.dialect = self.engine.dialect.name
        reader = self.engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"})
        self._writer = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        self._reader = sessionmaker(reader, expire_on_commit=False, autoflush=True)
        self.change_hooks: list[ChangeHook] = [mark_changed]
        self._write_lock = threading.RLock() if self.dialect == "sqlite" else None
        """SQLite has one writer at a time: this process's writers queue here, woken the moment the previous one
        commits, instead of in SQLite's busy handler, which sleeps 1, 2, 5 ... 100 ms between retries (measured:
        27-34 ms mean wait per write, 0.5 s p99, down to 0.4 ms mean; docs/benchmarks.md). Other processes still
        meet the busy timeout."""

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A session inside one transaction: committed if the block succeeds, rolled back if it raises."""
        factory = self._writer if write else self._reader
        lock = self._write_lock if write else None
        if lock is None:
            with factory() as session, session.begin():
                session.info["clock"] = self.clock
                yield session
            return
        with lock, factory() as session, session.begin():
            session.info["clock"] = self.clock
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
