"""HTTP plumbing shared by the adapters: TLS trust for a custom CA, clients for httpx and for ``requests``.

The sandbox serves HTTPS with its own CA. ``requests`` (inside google-auth and MSAL) ignores ``Session.verify``
when ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` are set in the environment (provider-facts, traps), and on these
machines they are: every ``requests.Session`` we hand a library has ``trust_env = False`` and an explicit
``verify``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx
import requests


@dataclass(frozen=True)
class Tls:
    """Which CAs to trust: the system's (``ca_bundle`` None) or one bundle file (the sandbox's)."""

    ca_bundle: Path | None = None

    def ssl_context(self) -> ssl.SSLContext:
        if self.ca_bundle is None:
            return ssl.create_default_context()
        return ssl.create_default_context(cafile=str(self.ca_bundle))

    def requests_session(self) -> requests.Session:
        """A requests.Session that really uses our trust settings, whatever the environment says."""
        session = requests.Session()
        session.trust_env = False
        session.verify = str(self.ca_bundle) if self.ca_bundle else True
        return session

    def httpx_client(self, *, timeout: float = 20.0, max_connections: int = 100) -> httpx.Client:
        """A pooled, thread-safe httpx client for the REST adapters."""
        return httpx.Client(
            verify=self.ssl_context(),
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            trust_env=False,
        )
