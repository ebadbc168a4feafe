"""Everything a calsync process needs, built once from :class:`~calsync.config.Settings` at the edge.

``serve``, ``demo``, ``worker`` and the tests call :func:`build_runtime`; nothing below reads settings again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import httpx

from calsync.config import Settings
from calsync.crypto import TokenCipher
from calsync.errors import ConfigurationError
from calsync.mail import build_mailer
from calsync.providers.config import ClientCredentials, GoogleEndpoints, MicrosoftEndpoints, ProviderConfig
from calsync.providers.registry import Providers
from calsync.services.connections import CalendarContext
from calsync.services.context import Clock, ServiceContext, system_clock
from calsync.services.password_links import LinkSettings
from calsync.services.passwords import PasswordCost, Passwords
from calsync.services.sync_bridge import answer_adopter
from calsync.store.db import Database
from calsync.sync.engine import Engine
from calsync.sync.limits import Limits
from calsync.sync.report import EngineSettings
from calsync.sync.tokens import TokenManager
from calsync.sync.worker import Worker

UNCONFIGURED = ClientCredentials("", "")


def provider_config(settings: Settings) -> ProviderConfig:
    """Endpoints and client credentials from settings: the sandbox's map when ``sandbox_map`` is set."""
    google = ClientCredentials(
        settings.google_client_id or "",
        settings.google_client_secret.get_secret_value() if settings.google_client_secret else "",
    )
    microsoft = ClientCredentials(
        settings.microsoft_client_id or "",
        settings.microsoft_client_secret.get_secret_value() if settings.microsoft_client_secret else "",
    )
    if settings.sandbox_map is None:
        return ProviderConfig(GoogleEndpoints(), MicrosoftEndpoints(), google, microsoft)
    try:
        endpoint_map = json.loads(Path(settings.sandbox_map).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"CALSYNC_SANDBOX_MAP: cannot read {settings.sandbox_map}: {exc}") from exc
    return ProviderConfig.from_sandbox_map(endpoint_map, google, microsoft)


@dataclasses.dataclass
class Runtime:
    settings: Settings
    service: ServiceContext
    cipher: TokenCipher
    providers: Providers
    tokens: TokenManager
    calendar: CalendarContext
    limits: Limits
    engine: Engine
    links: LinkSettings
    """Set-password links and the mailer they go through (:mod:`calsync.services.password_links`)."""

    def worker(self, **overrides: object) -> Worker:
        """A worker on this runtime with the configured concurrency and lease (tests may override)."""
        options: dict[str, object] = {
            "concurrency": self.settings.worker_concurrency,
            "lease_seconds": self.settings.lease_seconds,
            **overrides,
        }
        return Worker(self.db, self.engine, self.limits, clock=self.service.now, **options)  # type: ignore[arg-type]

    @property
    def db(self) -> Database:
        return self.service.db

    def close(self) -> None:
        self.providers.close()


def build_runtime(
    settings: Settings,
    *,
    database: Database | None = None,
    clock: Clock = system_clock,
    providers: ProviderConfig | None = None,
    http: httpx.Client | None = None,
) -> Runtime:
    """``http`` replaces the pooled HTTP client the adapters share (tests substitute at the transport)."""
    db = database or Database(settings.effective_database_url, echo=settings.sql_echo, clock=clock)
    cost = PasswordCost(settings.password_time_cost, settings.password_memory_kib, settings.password_parallelism)
    service = ServiceContext(db=db, clock=clock, passwords=Passwords(cost))
    env_keys = settings.token_keys.get_secret_value() if settings.token_keys else None
    cipher = TokenCipher.for_data_dir(settings.ensure_data_dir(), env_keys=env_keys)
    registry = Providers(providers or provider_config(settings), http=http, clock=service.now)
    tokens = TokenManager(db, cipher, registry, service.now)
    calendar = CalendarContext(service, cipher, registry, tokens, settings.effective_base_url)
    limits = Limits()
    engine = Engine(
        db=db,
        tokens=tokens,
        providers=registry,
        limits=limits,
        clock=service.now,
        settings=EngineSettings(
            base_url=settings.effective_base_url,
            poll_interval=settings.poll_interval,
            push_enabled=settings.push_notifications,
            webhook_base_url=settings.effective_webhook_base_url,
        ),
        adopt_answer=answer_adopter(service),
    )
    return Runtime(settings, service, cipher, registry, tokens, calendar, limits, engine, link_settings(settings))


def link_settings(settings: Settings) -> LinkSettings:
    """The mailer (SMTP, or the log when CALSYNC_SMTP_URL is unset) and the set-password links' lifetimes."""
    smtp_url = settings.smtp_url.get_secret_value() if settings.smtp_url else None
    return LinkSettings(
        mailer=build_mailer(smtp_url, settings.mail_from),
        base_url=settings.effective_base_url,
        invite_ttl=dt.timedelta(hours=settings.invite_link_hours),
        reset_ttl=dt.timedelta(hours=settings.reset_link_hours),
    )
