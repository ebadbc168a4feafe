"""Typed settings, read once at the edge (CLI or app factory) and passed down.

Every setting comes from a ``CALSYNC_*`` environment variable (or a ``.env`` file in the working directory, or
``<data_dir>/calsync.env``); docs/configuration.md lists them all and ``calsync config`` shows the values in force.
Nothing below the edge reads the environment: functions receive a :class:`Settings` object, which keeps tests
free to build one per case (Starlette ``config.py`` and Warehouse ``config.py`` work the same way).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "CALSYNC_"
DOTENV_FILE = ".env"
DATA_DIR_ENV_FILE = "calsync.env"
"""Settings kept with the data: read from ``<data_dir>/calsync.env`` before ``.env`` and the environment."""


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "calsync"


class Settings(BaseSettings):
    """All of calsync's configuration. Field descriptions are the reference: docs/configuration.md is generated
    from them (``calsync config --markdown > docs/configuration.md``), so a new field needs a description."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=DOTENV_FILE, extra="ignore", frozen=True)

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
    log_level: str = Field(default="INFO", description="Python logging level name (DEBUG, INFO, WARNING, ERROR).")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="`text`: one readable line per record; `json`: one JSON object per line (time, level, logger, "
        "message, process, exception) for a log pipeline. Secrets are masked in both.",
    )
    expect_workers: bool = Field(
        default=True,
        description="Whether `/readyz` requires a worker heartbeat younger than two lease lengths (`serve` runs "
        "its own worker unless started with `--no-sync`). Turn off for web processes whose load balancer must "
        "not take them out of rotation when the workers are down.",
    )

    # ---- calendar providers (issue 4) -------------------------------------------------------------------------
    google_client_id: str | None = Field(default=None, description="Google OAuth client id (web application).")
    google_client_secret: SecretStr | None = Field(default=None, description="Google OAuth client secret.")
    microsoft_client_id: str | None = Field(default=None, description="Microsoft Entra app (client) id.")
    microsoft_client_secret: SecretStr | None = Field(default=None, description="Microsoft app client secret.")
    sandbox_map: Path | None = Field(
        default=None,
        description="Point both providers at a running sandbox (the local Google and Microsoft emulators, "
        "docs/sandbox.md): the sandbox.json that `calsync sandbox` writes in its data directory (`calsync demo` sets "
        "it in <data_dir>/demo/calsync.env). Unset means the real Google and Microsoft endpoints. Never set it in "
        "production.",
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
    # ---- installation: mail and set-password links (issue 12) ---------------------------------------------------
    smtp_url: SecretStr | None = Field(
        default=None,
        description="Mail server for invitations and password resets: smtp://host:587 (STARTTLS when offered; "
        "?starttls=require or ?starttls=never), smtps://host:465 (implicit TLS), optional user:password@ before the "
        "host, ?ca_file=/path.pem to trust a private CA, ?timeout=seconds. Unset means mail is written to the log "
        "instead (and an admin who adds a person gets the set-password link in the response).",
    )
    mail_from: str = Field(
        default="calsync@localhost",
        description="Sender of calsync's mail, e.g. 'calsync <calsync@example.org>'.",
    )
    invite_link_hours: float = Field(
        default=72.0,
        gt=0,
        le=24 * 30,
        description="How long the set-password link of an invitation (a new person) stays valid, in hours.",
    )
    reset_link_hours: float = Field(
        default=1.0,
        gt=0,
        le=24 * 7,
        description="How long a 'forgot password' link stays valid, in hours.",
    )

    sql_echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")

    # ---- password hashing (argon2id; the defaults are argon2-cffi's, RFC 9106 low-memory) ---------------------
    password_time_cost: int = Field(
        default=3, ge=1, description="argon2id passes over memory per password hash (slow on purpose)."
    )
    password_memory_kib: int = Field(default=65536, ge=8, description="argon2id memory per password hash, in KiB.")
    password_parallelism: int = Field(default=4, ge=1, description="argon2id lanes per password hash.")

    @model_validator(mode="after")
    def _password_memory_fits_lanes(self) -> Settings:
        """argon2 needs at least 8 KiB per lane; say so at startup rather than at the first password set."""
        if self.password_memory_kib < 8 * self.password_parallelism:
            raise ValueError(
                f"CALSYNC_PASSWORD_MEMORY_KIB must be at least 8 x CALSYNC_PASSWORD_PARALLELISM "
                f"({8 * self.password_parallelism}), got {self.password_memory_kib}"
            )
        return self

    # ---- sign-in and sessions (issue 13) ----------------------------------------------------------------------
    trusted_proxies: str = Field(
        default="",
        description="Reverse proxies whose X-Forwarded-For calsync believes: addresses or CIDRs, comma-separated "
        "(e.g. '10.0.0.5,192.168.1.0/24'). Empty (the default) means no proxy is trusted and the client address "
        "is the TCP peer's. Only the proxies in front of calsync belong here; the sign-in limiter counts per address.",
    )
    session_idle_minutes: int = Field(
        default=720,
        ge=5,
        le=60 * 24 * 30,
        description="A signed-in session unused for this long ends (the person signs in again).",
    )
    session_max_hours: int = Field(
        default=14 * 24,
        ge=1,
        le=24 * 365,
        description="A session ends this long after sign-in however much it is used.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        for part in _split(value):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(
                    f"CALSYNC_TRUSTED_PROXIES: {part!r} is not an IP address or CIDR (e.g. 10.0.0.5 or 10.0.0.0/8)"
                ) from None
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The proxies whose forwarding headers are believed (empty: none)."""
        return tuple(ipaddress.ip_network(part, strict=False) for part in _split(self.trusted_proxies))

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


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def load_settings(**values: Any) -> Settings:
    """Settings as every command reads them: defaults, then ``<data_dir>/calsync.env`` (when there is one), then
    ``.env``, then the environment, then ``values`` (command-line options). The data directory is found first
    (from the environment or ``.env``), so its file cannot move it."""
    first = Settings(**values)
    kept = first.data_dir / DATA_DIR_ENV_FILE
    if not kept.is_file():
        return first
    return Settings(_env_file=(kept, DOTENV_FILE), **{"data_dir": first.data_dir, **values})
