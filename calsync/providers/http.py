"""HTTP plumbing shared by the adapters: TLS trust for a custom CA, clients for httpx and for ``requests``.

The sandbox serves HTTPS with its own CA. ``requests`` (inside google-auth and MSAL) ignores ``Session.verify``
when ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` are set in the environment (provider-facts, traps), and on these
machines they are: every ``requests.Session`` we hand a library has ``trust_env = False`` and an explicit
``verify``.

Tests substitute at the transport here and nowhere else: ``httpx_transport`` and ``requests_adapter`` (both None in
production) carry every request of the REST adapters and of the OAuth libraries to an in-process sandbox (the
simulation: no socket, no TLS, no keep-alive connection a server may close under a reused request).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import requests


@dataclass(frozen=True)
class Tls:
    """Which CAs to trust: the system's (``ca_bundle`` None) or one bundle file (the sandbox's)."""

    ca_bundle: Path | None = None
    httpx_transport: httpx.BaseTransport | None = None
    """Replaces the network under every httpx client made here (tests only)."""
    requests_adapter: Any = None
    """A ``requests.adapters.BaseAdapter`` mounted for every URL of every session made here (tests only)."""

    def ssl_context(self) -> ssl.SSLContext:
        if self.ca_bundle is None:
            return ssl.create_default_context()
        return ssl.create_default_context(cafile=str(self.ca_bundle))

    def requests_session(self) -> requests.Session:
        """A requests.Session that really uses our trust settings, whatever the environment says."""
        return self.configure(requests.Session())

    def configure(self, session: requests.Session) -> requests.Session:
        """Apply our trust settings (and a test's adapter) to a session a library made itself."""
        session.trust_env = False
        session.verify = self.requests_verify
        if self.requests_adapter is not None:
            session.mount("https://", self.requests_adapter)
            session.mount("http://", self.requests_adapter)
        return session

    @property
    def requests_verify(self) -> str | bool:
        """``requests``' ``verify``: the bundle's path, or True for the system's CAs (never the string "True")."""
        return str(self.ca_bundle) if self.ca_bundle else True

    def httpx_client(self, *, timeout: float = 20.0, max_connections: int = 100) -> httpx.Client:
        """A pooled, thread-safe httpx client for the REST adapters."""
        return httpx.Client(
            verify=self.ssl_context() if self.httpx_transport is None else True,
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            trust_env=False,
            transport=self.httpx_transport,
        )
