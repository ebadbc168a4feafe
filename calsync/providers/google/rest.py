"""Google Calendar v3 requests (provider-facts §1): paths are relative to the ``calendar_api`` base URL."""

from __future__ import annotations

import httpx

from calsync.providers.config import GoogleEndpoints
from calsync.providers.google.errors import map_error
from calsync.providers.rest import Rest


class GoogleRest(Rest):
    provider = "google"
    label = "Google Calendar"

    def __init__(self, http: httpx.Client, endpoints: GoogleEndpoints) -> None:
        super().__init__(http, map_error)
        self.endpoints = endpoints

    def url(self, path: str) -> str:
        """Absolute URL for a Calendar path, or ``path`` itself when absolute (the batch endpoint, §1.7)."""
        if path.startswith(("https://", "http://")):
            return path
        return self.endpoints.calendar_api + path.lstrip("/")
