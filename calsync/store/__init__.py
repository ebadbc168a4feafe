"""The store: SQLAlchemy tables and the repositories that query them. See docs/architecture.md.

Every table module is imported here so ``Base.metadata`` always holds every table (Alembic, schema checks).
"""

from calsync.store import account_models, auth_models, models, sync_models

__all__ = ["account_models", "auth_models", "models", "sync_models"]
