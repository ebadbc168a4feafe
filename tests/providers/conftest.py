"""Both provider adapters pointed at the running sandbox, with calsync's OAuth clients registered there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from calsync.core.connection import Provider
from calsync.providers.base import Grant
from calsync.providers.config import ProviderConfig
from calsync.providers.registry import Providers
from calsync.sandbox.server import RunningSandbox
from tests.conftest import redirect_uri

PROVIDERS = [pytest.param(Provider.MICROSOFT, id="microsoft")]
try:  # the Google emulator lands beside this suite; run against it once it registers clients
    from calsync.sandbox.google import GoogleSandbox

    if hasattr(GoogleSandbox, "register_client"):
        PROVIDERS.insert(0, pytest.param(Provider.GOOGLE, id="google"))
except ImportError:  # pragma: no cover
    pass


@dataclass
class ProviderEnv:
    provider: Provider
    providers: Providers
    sandbox: RunningSandbox

    @property
    def emulator(self) -> Any:
        return getattr(self.sandbox.sandbox, self.provider.value)

    def authorize(self, email: str, state: str = "state-1") -> tuple[str, str, str]:
        """Start the flow and let the sandbox auto-consent: returns (code, state, flow_secret)."""
        start = self.providers.oauth(self.provider).start(
            state=state, redirect_uri=redirect_uri(self.provider), login_hint=email
        )
        with httpx.Client(verify=self.providers.config.tls.ssl_context(), trust_env=False) as http:
            r = http.get(start.url)
        assert r.status_code in (302, 303), r.text[:300]
        query = parse_qs(urlsplit(r.headers["location"]).query)
        assert r.headers["location"].startswith(redirect_uri(self.provider))
        return query["code"][0], query["state"][0], start.flow_secret

    def connect(self, email: str) -> Grant:
        code, state, secret = self.authorize(email)
        return self.providers.oauth(self.provider).finish(
            code=code, state=state, flow_secret=secret, redirect_uri=redirect_uri(self.provider)
        )


@pytest.fixture(params=PROVIDERS)
def env(
    request: pytest.FixtureRequest, sandbox: RunningSandbox, provider_config: ProviderConfig
) -> Iterator[ProviderEnv]:
    providers = Providers(provider_config)
    yield ProviderEnv(request.param, providers, sandbox)
    providers.close()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
