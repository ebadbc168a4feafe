"""Alembic environment: online only, on the engine :func:`calsync.store.migrate.alembic_config` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from calsync.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):  # pragma: no cover - only reachable by running the alembic CLI by hand
    raise RuntimeError("run migrations with `calsync db upgrade` (calsync.store.migrate.upgrade)")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
