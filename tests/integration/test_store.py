"""The store on SQLite and PostgreSQL: migrations, schema drift, connection settings, UTC instants."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from calsync.errors import ConfigurationError
from calsync.store.db import Database, make_engine
from calsync.store.migrate import current_revision, head_revision, upgrade
from calsync.store.models import Base, OrganizationRow


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata))


def _check_fresh_upgrade(url: str) -> None:
    engine = make_engine(url)
    try:
        assert current_revision(engine) is None
        upgrade(url)
        assert current_revision(engine) == head_revision()
        assert {t.name for t in Base.metadata.sorted_tables} <= set(inspect(engine).get_table_names())
        assert _diff(engine) == []
        upgrade(url)  # a second run is a no-op
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_migrations_build_an_empty_sqlite_database_matching_the_models(tmp_path: Path) -> None:
    """On a new SQLite file the migrations reach head and autogenerate finds no difference from the ORM models."""
    _check_fresh_upgrade(f"sqlite:///{tmp_path / 'new' / 'calsync.db'}")


@pytest.mark.postgres
def test_migrations_build_an_empty_postgres_database_matching_the_models(postgres_server) -> None:  # type: ignore[no-untyped-def]
    """On a new PostgreSQL database the migrations reach head and autogenerate finds no difference."""
    url = postgres_server.create("calsync_migrate")
    try:
        _check_fresh_upgrade(url)
    finally:
        postgres_server.drop(url)


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    """Every SQLite connection has foreign keys on, WAL journaling and a busy timeout."""
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        db.dispose()


def test_instants_come_back_timezone_aware_in_utc(database: Database) -> None:
    """An instant stored with any offset reads back as the same instant, labelled UTC, on both backends."""
    stored = dt.datetime(2026, 3, 8, 2, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    with database.session() as s:
        s.add(OrganizationRow(name="x", created_at=stored))
    with database.session(write=False) as s:
        row = s.query(OrganizationRow).one()
        assert row.created_at == stored
        assert row.created_at.tzinfo is dt.UTC or row.created_at.utcoffset() == dt.timedelta(0)
        assert row.created_at.hour == 7


def test_naive_instants_are_refused(database: Database) -> None:
    """Storing an instant without an offset is a programming error, caught before it reaches the database."""
    with pytest.raises(Exception, match="aware"), database.session() as s:
        s.add(OrganizationRow(name="x", created_at=dt.datetime(2026, 1, 1)))
        s.flush()


def test_foreign_keys_are_enforced(database: Database) -> None:
    """A row pointing at a missing organization is refused on both backends."""
    with pytest.raises(Exception), database.session() as s:
        s.execute(
            text(
                "INSERT INTO people (organization_id, email, name, timezone, role, created_at) "
                "VALUES (999, 'a@b.cd', 'A', 'UTC', 'member', '2026-01-01 00:00:00')"
            )
        )


def test_unsupported_database_urls_are_configuration_errors() -> None:
    """A URL for another database is refused with the two supported forms."""
    with pytest.raises(ConfigurationError, match="sqlite or postgresql"):
        make_engine("mysql://localhost/x")
    with pytest.raises(ConfigurationError, match="not a database URL"):
        make_engine("::::")

