"""One place where calsync sends a request to Microsoft Graph and maps the answer (provider-facts §3)."""

from __future__ import annotations

from typing import Any

import httpx

from calsync.providers.answers import parse
from calsync.providers.config import MicrosoftEndpoints
from calsync.providers.microsoft.errors import map_error, transport_error


class GraphRest:
    """Authorized calls to Graph v1.0 over a shared, pooled httpx client. No retries here: the caller decides."""

    def __init__(self, http: httpx.Client, endpoints: MicrosoftEndpoints) -> None:
        self.http = http
        self.endpoints = endpoints
        self.requests_sent = 0

    def url(self, path: str) -> str:
        """Absolute URL for a Graph path (``/me/events``) or an absolute nextLink/deltaLink replayed verbatim."""
        if path.startswith("https://") or path.startswith("http://"):
            return path
        return self.endpoints.graph.rstrip("/") + "/" + path.lstrip("/")

    def call(
        self,
        method: str,
        path: str,
        access_token: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; return the 2xx response or raise the mapped :class:`~calsync.errors.ProviderError`."""
        all_headers = {"Authorization": f"Bearer {access_token}"}
        if headers:
            all_headers.update(headers)
        self.requests_sent += 1
        try:
            response = self.http.request(method, self.url(path), params=params, json=json, headers=all_headers)
        except httpx.HTTPError as exc:
            raise transport_error(exc) from None
        if response.status_code >= 400:
            raise map_error(response)
        return response

    def call_json(self, method: str, path: str, access_token: str, **kwargs: Any) -> Any:
        """:meth:`call`, then the body parsed so a missing field is a clear ProviderPermanent (answers.py)."""
        return parse(self.call(method, path, access_token, **kwargs), "microsoft")
