"""The store: SQLAlchemy tables and the repositories that query them. See docs/architecture.md.

Both table modules are imported here so ``Base.metadata`` always holds every table (Alembic, schema checks).
"""

from calsync.store import models, sync_models

__all__ = ["models", "sync_models"]
