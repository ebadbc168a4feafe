"""Microsoft Graph requests (provider-facts §3): paths under the ``graph`` base URL, or absolute next/delta links."""

from __future__ import annotations

import httpx

from calsync.providers.config import MicrosoftEndpoints
from calsync.providers.microsoft.errors import map_error
from calsync.providers.rest import Rest


class GraphRest(Rest):
    provider = "microsoft"
    label = "Microsoft Graph"

    def __init__(self, http: httpx.Client, endpoints: MicrosoftEndpoints) -> None:
        super().__init__(http, map_error)
        self.endpoints = endpoints

    def url(self, path: str) -> str:
        """Absolute URL for a Graph path (``/me/events``) or an absolute nextLink/deltaLink replayed verbatim."""
        if path.startswith(("https://", "http://")):
            return path
        return self.endpoints.graph.rstrip("/") + "/" + path.lstrip("/")
