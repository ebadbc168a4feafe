"""The one place calsync sends a request to a calendar provider's REST API and maps the answer.

Each provider's module supplies only what differs: how a path becomes a URL, and how a non-2xx answer maps onto
:mod:`calsync.errors` (``providers/<provider>/errors.py``). No retries here: the engine's call wrapper decides
what is safe to retry (``calsync/sync/calls.py``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import httpx

from calsync.errors import ProviderError, ProviderTransient
from calsync.providers.answers import parse


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (Google and Graph both send delta-seconds), or None."""
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class Rest(ABC):
    """Authorized calls over a shared, pooled httpx client (thread-safe)."""

    provider = ""
    label = ""

    def __init__(self, http: httpx.Client, map_error: Callable[[httpx.Response], ProviderError]) -> None:
        self.http = http
        self.map_error = map_error
        self.requests_sent = 0

    @abstractmethod
    def url(self, path: str) -> str:
        """The absolute URL for ``path`` at this provider."""

    def call(
        self,
        method: str,
        path: str,
        access_token: str,
        *,
        params: httpx.QueryParams | dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; return the 2xx response or raise the mapped :class:`~calsync.errors.ProviderError`.

        ``content`` is a raw body (with its ``Content-Type`` in ``headers``), for Google's multipart batch."""
        all_headers = {"Authorization": f"Bearer {access_token}"}
        if headers:
            all_headers.update(headers)
        self.requests_sent += 1
        try:
            response = self.http.request(
                method, self.url(path), params=params, json=json, content=content, headers=all_headers
            )
        except httpx.HTTPError as exc:  # timeouts and connection failures: always transient
            raise ProviderTransient(f"{self.label} unreachable: {type(exc).__name__}", provider=self.provider) from None
        if response.status_code >= 400:
            raise self.map_error(response)
        return response

    def call_json(self, method: str, path: str, access_token: str, **kwargs: Any) -> Any:
        """:meth:`call`, then the body parsed so a missing field is a clear ProviderUnreadable (answers.py)."""
        return parse(self.call(method, path, access_token, **kwargs), self.provider)
