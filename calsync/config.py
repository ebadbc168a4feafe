"""Typed settings, read once at the edge (CLI or app factory) and passed down.

Every setting comes from a ``CALSYNC_*`` environment variable (or a ``.env`` file in the working directory).
Nothing below the edge reads the environment: functions receive a :class:`Settings` object, which keeps tests
free to build one per case (Starlette ``config.py`` and Warehouse ``config.py`` work the same way).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "calsync"


class Settings(BaseSettings):
    """All of calsync's configuration. Field docs double as the reference in docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="CALSYNC_", env_file=".env", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where the SQLite file, the key file and the sandbox's certificates live. Created on first run.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Unset means SQLite at <data_dir>/calsync.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/dbname",
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` and `demo` bind to.")
    port: int = Field(default=8000, description="Port `serve` and `demo` bind to.")
    base_url: str | None = Field(
        default=None,
        description="Public URL of this calsync (OAuth redirect URIs and webhook addresses are built from it). "
        "Unset means http://<host>:<port>.",
    )
    log_level: str = Field(default="INFO", description="Python logging level name.")
    sql_echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")

    @property
    def effective_database_url(self) -> str:
        """The database URL in force: the configured one, or the SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'calsync.db'}"

    @property
    def effective_base_url(self) -> str:
        """The public URL in force, without a trailing slash."""
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    def ensure_data_dir(self) -> Path:
        """Create the data directory (owner-only) if it does not exist yet, and return it."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.data_dir
