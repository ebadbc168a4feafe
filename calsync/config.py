"""Typed settings, read once at the edge (CLI or app factory) and passed down.

Every setting comes from a ``CALSYNC_*`` environment variable (or a ``.env`` file in the working directory).
Nothing below the edge reads the environment: functions receive a :class:`Settings` object, which keeps tests
free to build one per case (Starlette ``config.py`` and Warehouse ``config.py`` work the same way).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
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

    # ---- calendar providers (issue 4) -------------------------------------------------------------------------
    google_client_id: str | None = Field(default=None, description="Google OAuth client id (web application).")
    google_client_secret: SecretStr | None = Field(default=None, description="Google OAuth client secret.")
    microsoft_client_id: str | None = Field(default=None, description="Microsoft Entra app (client) id.")
    microsoft_client_secret: SecretStr | None = Field(default=None, description="Microsoft app client secret.")
    sandbox_map: Path | None = Field(
        default=None,
        description="Point both providers at a running sandbox: the sandbox.json that `calsync sandbox` wrote. "
        "Unset means the real Google and Microsoft endpoints.",
    )
    token_keys: SecretStr | None = Field(
        default=None,
        description="Token encryption keys 'id1=fernetkey,id2=...' (first is primary). Unset means the key file "
        "<data_dir>/token-keys.json, created owner-only on first run.",
    )

    # ---- sync (issue 5) ---------------------------------------------------------------------------------------
    poll_interval: float = Field(
        default=300.0, description="Seconds between pulls of each connection when no push notification arrives."
    )
    worker_concurrency: int = Field(
        default=24,
        ge=1,
        le=256,
        description=(
            "Connections one worker process syncs at once. Rounds mostly wait (on the provider, on one person's "
            "quota: a 40-entry Google backfill takes ~3 s at 600/min), so 24 keeps a core busy (docs/benchmarks.md)."
        ),
    )
    lease_seconds: float = Field(default=30.0, description="How long a worker's claim on a connection lasts unrenewed.")
    push_notifications: bool = Field(
        default=True, description="Open Google watch channels and Graph subscriptions (needs a reachable webhook URL)."
    )
    webhook_base_url: str | None = Field(
        default=None, description="Public URL the providers post notifications to. Unset means base_url."
    )
    sql_echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")

    # ---- request limits (issue 13): checked before any body is parsed, on every route ------------------------
    max_body_bytes: int = Field(
        default=1_000_000,
        ge=1024,
        description="Largest request body accepted, in bytes; larger ones get 413 before they are read in full. "
        "A full 20,000-character event description is ~80 kB; a Graph notification batch far less than 1 MB.",
    )
    max_json_depth: int = Field(
        default=32,
        ge=2,
        le=1000,
        description="Deepest nesting of arrays and objects accepted in a body; deeper ones get 400 before parsing "
        "(calsync's own bodies nest 3 deep, Graph's notifications 4).",
    )

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

    @property
    def effective_webhook_base_url(self) -> str:
        return (self.webhook_base_url or self.effective_base_url).rstrip("/")

    def ensure_data_dir(self) -> Path:
        """Create the data directory (owner-only) if it does not exist yet, and return it."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.data_dir
