"""One place where calsync sends a request to Google Calendar v3 and maps the answer (provider-facts §1)."""

from __future__ import annotations

from typing import Any

import httpx

from calsync.providers.answers import parse
from calsync.providers.config import GoogleEndpoints
from calsync.providers.google.errors import map_error, transport_error


class GoogleRest:
    """Authorized calls to Calendar v3 over a shared, pooled httpx client. No retries here: the caller decides."""

    def __init__(self, http: httpx.Client, endpoints: GoogleEndpoints) -> None:
        self.http = http
        self.endpoints = endpoints
        self.requests_sent = 0

    def call(
        self,
        method: str,
        path: str,
        access_token: str,
        *,
        params: httpx.QueryParams | dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; return the 2xx response or raise the mapped :class:`~calsync.errors.ProviderError`."""
        all_headers = {"Authorization": f"Bearer {access_token}"}
        if headers:
            all_headers.update(headers)
        self.requests_sent += 1
        try:
            response = self.http.request(
                method, self.endpoints.calendar_api + path.lstrip("/"), params=params, json=json, headers=all_headers
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc) from None
        if response.status_code >= 400:
            raise map_error(response)
        return response

    def call_json(self, method: str, path: str, access_token: str, **kwargs: Any) -> Any:
        """:meth:`call`, then the body parsed so a missing field is a clear ProviderPermanent (answers.py)."""
        return parse(self.call(method, path, access_token, **kwargs), "google")
