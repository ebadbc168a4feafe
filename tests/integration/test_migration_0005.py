"""Migration 0005 on a database that holds connections: the request counters start at zero, and what diagnose used
to parse out of text (the last full reconcile, the authorization error's code) is backfilled into its columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine

from calsync.store.connections import ConnectionRepository
from calsync.store.db import Database
from calsync.store.migrate import upgrade
from tests.conftest import T0, PostgresServer


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (not the migrated template: this test migrates it step by step)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'calsync.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create("calsync_migration")
    try:
        yield url
    finally:
        server.drop(url)


def _naive(value: Any) -> Any:
    return value.replace(tzinfo=None) if isinstance(value, dt.datetime) else value


def _insert(url: str, rows: dict[str, list[dict[str, Any]]]) -> None:
    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        sqlite = engine.dialect.name == "sqlite"
        with engine.begin() as conn:
            for table, values in rows.items():
                for row in values:
                    # SQLite keeps naive UTC (store/types.py::UTCDateTime), PostgreSQL timestamptz.
                    fixed = {k: _naive(v) if sqlite else v for k, v in row.items()}
                    conn.execute(meta.tables[table].insert().values(**fixed))
    finally:
        engine.dispose()


def _connection(connection_id: int, person_id: int, status: str, reason: str | None) -> dict[str, Any]:
    return {
        "id": connection_id,
        "person_id": person_id,
        "organization_id": 1,
        "provider": "google",
        "account_email": f"p{person_id}@example.com",
        "account_id": f"acct-{person_id}",
        "scopes": "calendar",
        "status": status,
        "need_full_sync": reason is not None,
        "need_full_sync_reason": reason,
        "resync_requested": False,
        "connected_at": T0 - dt.timedelta(days=1),
        "dedicated_calendar": False,
        "pull_requested": False,
        "work_seq": 3,
        "attempts": 0,
    }


def _log(connection_id: int, hours_ago: float, message: str, action: str = "sync") -> dict[str, Any]:
    at = T0 - dt.timedelta(hours=hours_ago)
    return {"connection_id": connection_id, "at": at, "level": "info", "action": action, "message": message}


def test_0005_backfills_the_last_full_reconcile_and_the_auth_error_code(fresh_url: str) -> None:
    upgrade(fresh_url, "0004")
    _insert(
        fresh_url,
        {
            "organizations": [{"id": 1, "name": "Juno", "created_at": T0}],
            "people": [
                {"id": i, "organization_id": 1, "email": f"p{i}@example.com", "name": f"P{i}", "timezone": "UTC",
                 "role": "member", "created_at": T0}
                for i in (1, 2, 3)
            ],
            "connections": [
                _connection(1, 1, "error", "authorization failed (invalid_grant)"),
                _connection(2, 2, "error", "authorization failed (refused)"),
                _connection(3, 3, "connected", None),
            ],
            "connection_log": [
                _log(1, 5, "full round: 3 created, 0 updated, 0 deleted, 0 answers from the calendar"),
                _log(1, 2, "full round: 0 created, 1 updated, 0 deleted, 0 answers from the calendar"),
                _log(1, 1, "incremental round: 1 created, 0 updated, 0 deleted, 0 answers from the calendar"),
                _log(1, 0.5, "full round, said by someone else", action="resync"),
                _log(2, 3, "incremental round: 0 created, 1 updated, 0 deleted, 0 answers from the calendar"),
            ],
        },
    )
    upgrade(fresh_url)
    db = Database(fresh_url)
    try:
        with db.session(write=False) as s:
            repo = ConnectionRepository(s)
            first, second, third = (repo.get(i) for i in (1, 2, 3))
    finally:
        db.dispose()
    assert first is not None and second is not None and third is not None
    assert first.last_full_reconcile_at == T0 - dt.timedelta(hours=2)
    assert second.last_full_reconcile_at is None and third.last_full_reconcile_at is None
    assert first.auth_error_code == "invalid_grant"
    assert second.auth_error_code is None  # "refused" meant the provider gave no code
    assert third.auth_error_code is None
    for record in (first, second, third):
        assert (record.full_sync_seq, record.resync_seq, record.pull_seq) == (0, 0, 0)
        assert record.work_seq == 3
