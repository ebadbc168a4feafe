"""Where the providers are, and who calsync is to them: endpoints, OAuth client credentials, TLS trust.

Production uses the real endpoints. The demo and the tests point the same adapters at the sandbox by building a
:class:`ProviderConfig` from the sandbox's endpoint map (``sandbox.json``), so nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calsync.providers.http import Tls


@dataclass(frozen=True)
class GoogleEndpoints:
    authorize: str = "https://accounts.google.com/o/oauth2/v2/auth"
    token: str = "https://oauth2.googleapis.com/token"
    revoke: str = "https://oauth2.googleapis.com/revoke"
    calendar_api: str = "https://www.googleapis.com/calendar/v3/"
    batch: str = "https://www.googleapis.com/batch/calendar/v3"


@dataclass(frozen=True)
class MicrosoftEndpoints:
    authority: str = "https://login.microsoftonline.com/common"
    graph: str = "https://graph.microsoft.com/v1.0"

    @property
    def is_microsoft_host(self) -> bool:
        """MSAL validates only Microsoft's own authorities; any other host needs instance_discovery=False."""
        return self.authority.startswith("https://login.microsoftonline.com/")


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class ProviderConfig:
    """Everything the adapters need to reach both providers."""

    google: GoogleEndpoints
    microsoft: MicrosoftEndpoints
    google_client: ClientCredentials
    microsoft_client: ClientCredentials
    tls: Tls = field(default_factory=Tls)

    @classmethod
    def from_sandbox_map(
        cls, endpoint_map: dict[str, Any], google_client: ClientCredentials, microsoft_client: ClientCredentials
    ) -> ProviderConfig:
        """Point both adapters at a running sandbox (its JSON endpoint map)."""
        g, m = endpoint_map["google"], endpoint_map["microsoft"]
        return cls(
            google=GoogleEndpoints(g["authorize"], g["token"], g["revoke"], g["calendar_api"], g["batch"]),
            microsoft=MicrosoftEndpoints(m["authority"], m["graph"]),
            google_client=google_client,
            microsoft_client=microsoft_client,
            tls=Tls(Path(endpoint_map["ca_bundle"])),
        )
