"""Fixtures shared by every test: an isolated data directory and settings that point into it, and the databases.

Databases: every store/service/API test that takes ``database`` runs twice, on SQLite (a fresh file copied from a
migrated template) and on PostgreSQL (one ``calsync_test_<random>`` database per session, migrated once, emptied
before each test, dropped at the end). PostgreSQL needs ``CALSYNC_TEST_POSTGRES_URL`` (a server URL such as
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``); without it those cases skip and say so.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from calsync.config import Settings
from calsync.core.connection import Provider
from calsync.providers.config import ClientCredentials, ProviderConfig
from calsync.sandbox.app import Sandbox
from calsync.sandbox.server import RunningSandbox, start_in_thread
from calsync.services.context import ServiceContext
from calsync.services.passwords import PasswordCost, Passwords
from calsync.services.runtime import Runtime, build_runtime
from calsync.store.db import Database
from calsync.store.migrate import upgrade
from calsync.store.models import Base

# argon2 at its cheapest in tests: the cost is a setting (production keeps argon2-cffi's defaults) and hashing is
# not what a test checks. The environment reaches every Settings() built here and every `calsync` subprocess; the
# ServiceContexts tests build by hand take TEST_PASSWORDS. (tests/unit/test_passwords.py checks the real cost.)
TEST_PASSWORD_COST = PasswordCost(time_cost=1, memory_kib=8, parallelism=1)
for _name, _value in (
    ("CALSYNC_PASSWORD_TIME_COST", TEST_PASSWORD_COST.time_cost),
    ("CALSYNC_PASSWORD_MEMORY_KIB", TEST_PASSWORD_COST.memory_kib),
    ("CALSYNC_PASSWORD_PARALLELISM", TEST_PASSWORD_COST.parallelism),
):
    os.environ.setdefault(_name, str(_value))
TEST_PASSWORDS = Passwords(TEST_PASSWORD_COST)

T = TypeVar("T")

POSTGRES_ENV = "CALSYNC_TEST_POSTGRES_URL"
NO_POSTGRES = f"{POSTGRES_ENV} is not set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres); .ci/run sets it"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    """Settings for one test: SQLite in its own data directory."""
    return Settings(data_dir=data_dir)


@pytest.fixture(scope="session")
def session_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("session-data")


# --- PostgreSQL --------------------------------------------------------------------------------------------------


class PostgresServer:
    """Creates and drops throw-away databases on the server named by CALSYNC_TEST_POSTGRES_URL."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url).set(drivername="postgresql+psycopg")
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")

    def create(self, prefix: str = "calsync_test") -> str:
        name = f"{prefix}_{secrets.token_hex(6)}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(NO_POSTGRES)
    server = PostgresServer(url)
    yield server
    server.admin.dispose()


@pytest.fixture(scope="session")
def postgres_session_url(postgres_server: PostgresServer) -> Iterator[str]:
    """One fresh, migrated database for the whole session (``calsync_test_<random>``), dropped at the end."""
    url = postgres_server.create()
    try:
        upgrade(url)
        yield url
    finally:
        postgres_server.drop(url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating once per session keeps the suite quick)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "calsync.db"
    upgrade(f"sqlite:///{path}")
    return path


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database URL: a copied SQLite file, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        target = tmp_path / "db" / "calsync.db"
        target.parent.mkdir()
        shutil.copy(sqlite_template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_session_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    yield db
    db.dispose()


class FixedClock:
    """A clock tests move by hand: ``clock.now`` is what every service sees as the present."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def ctx(database: Database, clock: FixedClock) -> ServiceContext:
    return ServiceContext(db=database, clock=clock, passwords=TEST_PASSWORDS)


Snapshot = dict[str, list[tuple[object, ...]]]


@pytest.fixture
def snapshot(database: Database) -> Callable[[], Snapshot]:
    """Every row of every table, ordered: compare before and after to show that nothing stored changed."""

    def take() -> Snapshot:
        result: Snapshot = {}
        with database.engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                rows = conn.execute(table.select().order_by(*table.primary_key.columns)).all()
                result[table.name] = [tuple(row) for row in rows]
        return result

    return take


# ---- seeded databases: seed once per session and backend, copy the result into each test's database ---------

Rows = list[tuple[str, list[dict[str, Any]]]]
Seeder = Callable[[ServiceContext], T]


@dataclass(frozen=True)
class _Seeded:
    value: Any
    sqlite_file: Path | None = None
    rows: Rows | None = None


@pytest.fixture(scope="session")
def _seeded() -> dict[tuple[str, str], _Seeded]:
    return {}


def _seed(url: str, seeder: Seeder[T]) -> T:
    db = Database(url)
    try:
        return seeder(ServiceContext(db=db, clock=FixedClock(T0), passwords=TEST_PASSWORDS))
    finally:
        db.dispose()


def _take_rows(url: str) -> Rows:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [
                (table.name, [dict(row) for row in conn.execute(table.select()).mappings()])
                for table in Base.metadata.sorted_tables
            ]
    finally:
        engine.dispose()


def _restore_rows(url: str, rows: Rows) -> None:
    """Insert ``rows`` into the emptied PostgreSQL database ``url`` and move each id sequence past them."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for name, table_rows in rows:
                table = Base.metadata.tables[name]
                if table_rows:
                    conn.execute(table.insert(), table_rows)
                for column in table.primary_key.columns:
                    sequence = conn.execute(
                        text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": name, "c": column.name}
                    ).scalar()
                    if sequence is not None and table_rows:
                        top = max(int(row[column.name]) for row in table_rows)
                        conn.execute(text("SELECT setval(:s, :v)"), {"s": sequence, "v": top})
    finally:
        engine.dispose()


@pytest.fixture
def seed_once(
    db_url: str, _seeded: dict[tuple[str, str], _Seeded], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, Seeder[T]], T]:
    """``seed_once(key, seeder)`` puts into this test's (empty) database what ``seeder`` writes, and returns what it
    returned. ``seeder`` runs once per session and backend (clock ``T0``, cheap passwords): SQLite tests then get a
    copy of the seeded file, PostgreSQL tests the seeded rows re-inserted. For fixtures that seed the same thing
    for every test, such as the demo organization of the page tests; each test still owns its database."""

    def apply(key: str, seeder: Seeder[T]) -> T:
        backend = make_url(db_url).get_backend_name()
        cached = _seeded.get((key, backend))
        if backend == "sqlite":
            target = Path(str(make_url(db_url).database))
            if cached is None:
                path = tmp_path_factory.mktemp(f"seeded-{key}") / "calsync.db"
                shutil.copy(target, path)  # the test's fresh copy of the migrated template
                cached = _Seeded(_seed(f"sqlite:///{path}", seeder), sqlite_file=path)
            assert cached.sqlite_file is not None
            shutil.copy(cached.sqlite_file, target)
        elif cached is None:
            cached = _Seeded(_seed(db_url, seeder))  # the test's database is empty: seed it, keep its rows
            cached = _Seeded(cached.value, rows=_take_rows(db_url))
        else:
            assert cached.rows is not None
            _restore_rows(db_url, cached.rows)
        _seeded[(key, backend)] = cached
        return cast(T, cached.value)

    return apply


# ---- the sandbox on a real HTTPS socket, shared by every suite; reset between tests -------------------------


@pytest.fixture(scope="session")
def running_sandbox(session_data_dir: Path) -> Iterator[RunningSandbox]:
    running = start_in_thread(Sandbox(seed=1234), session_data_dir)
    yield running
    running.stop()


@pytest.fixture
def sandbox(running_sandbox: RunningSandbox) -> Iterator[RunningSandbox]:
    """The shared running sandbox, emptied and healed before each test."""
    running_sandbox.sandbox.reset()
    running_sandbox.sandbox.context.auto_consent = False
    yield running_sandbox
    running_sandbox.sandbox.faults.reset()


# ---- calsync pointed at the sandbox ------------------------------------------------------------------------

GOOGLE_CLIENT = ClientCredentials("calsync-test.apps.googleusercontent.com", "google-test-secret")
MICROSOFT_CLIENT = ClientCredentials("6731de76-14a6-49ae-97bc-6eba6914391e", "microsoft-test-secret")
REDIRECT = "http://127.0.0.1:8000/oauth/{provider}/callback"


def redirect_uri(provider: Provider) -> str:
    return REDIRECT.format(provider=provider.value)


@pytest.fixture
def provider_config(sandbox: RunningSandbox) -> ProviderConfig:
    sb = sandbox.sandbox
    sb.context.auto_consent = True
    if hasattr(sb.google, "register_client"):
        sb.google.register_client(GOOGLE_CLIENT.client_id, GOOGLE_CLIENT.client_secret, [redirect_uri(Provider.GOOGLE)])
    sb.microsoft.register_client(
        MICROSOFT_CLIENT.client_id, MICROSOFT_CLIENT.client_secret, [redirect_uri(Provider.MICROSOFT)]
    )
    return ProviderConfig.from_sandbox_map(sandbox.endpoints, GOOGLE_CLIENT, MICROSOFT_CLIENT)


@pytest.fixture
def runtime(settings: Settings, database: Database, provider_config: ProviderConfig) -> Iterator[Runtime]:
    """calsync's runtime on the test database with both providers pointed at the sandbox (real clock)."""
    rt = build_runtime(settings, database=database, providers=provider_config)
    yield rt
    rt.close()
