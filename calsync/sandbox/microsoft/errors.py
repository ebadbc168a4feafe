"""Graph's error envelope and the identity platform's AADSTS error bodies.

Graph (provider-facts §3.8) answers every failure as
``{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}``; the identity
platform (§4) answers token failures as ``{"error", "error_description": "AADSTSnnn: ... Trace ID ...",
"error_codes": [n], "timestamp", "trace_id", "correlation_id", "error_uri"[, "suberror"]}``. Handlers raise
:class:`GraphError` / :class:`AadError` and the edges render them, so every path speaks the provider's format.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


class GraphError(Exception):
    """A Graph failure: HTTP status, Graph ``code`` and a message that says what to fix."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self, client_request_id: str | None = None) -> dict[str, Any]:
        return graph_error_body(self.code, self.message, client_request_id)


def graph_error_body(code: str, message: str, client_request_id: str | None = None) -> dict[str, Any]:
    """The §3.8 envelope."""
    request_id = str(uuid.uuid4())
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": _now_iso(),
                "request-id": request_id,
                "client-request-id": client_request_id or request_id,
            },
        }
    }


_FAULT_CODES: dict[int, tuple[str, str]] = {
    429: ("TooManyRequests", "Too many requests. Retry after the number of seconds in the Retry-After header."),
    500: ("InternalServerError", "An internal server error occurred."),
    502: ("BadGateway", "Bad gateway."),
    503: ("ServiceNotAvailable", "The service is temporarily unavailable. Retry later."),
    504: ("GatewayTimeout", "The gateway timed out."),
}


def render_error(status: int, retry_after: int | None) -> tuple[bytes, dict[str, str]]:
    """FaultMiddleware's renderer: an injected failure in Graph's envelope (429/503 carry ``Retry-After``)."""
    code, message = _FAULT_CODES.get(status, ("UnknownError", f"HTTP {status}"))
    headers = {"content-type": "application/json"}
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    return json.dumps(graph_error_body(code, message)).encode(), headers


def render_identity_error(status: int, retry_after: int | None) -> tuple[bytes, dict[str, str]]:
    """FaultMiddleware's renderer for the token endpoint: an OAuth error body, as the identity platform sends."""
    error = "temporarily_unavailable" if status in (429, 503, 504) else "server_error"
    body = aad_error_body(error, 90033 if status == 429 else 50000, "The service is temporarily unavailable.")
    headers = {"content-type": "application/json; charset=utf-8"}
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    return json.dumps(body).encode(), headers


class AadError(Exception):
    """An identity platform token-endpoint failure (§4 body shape)."""

    def __init__(self, status: int, error: str, code: int, description: str, suberror: str | None = None) -> None:
        super().__init__(f"{error} AADSTS{code}: {description}")
        self.status = status
        self.error = error
        self.code = code
        self.description = description
        self.suberror = suberror

    def body(self) -> dict[str, Any]:
        return aad_error_body(self.error, self.code, self.description, self.suberror)


def aad_error_body(error: str, code: int, description: str, suberror: str | None = None) -> dict[str, Any]:
    """``error_description`` starts with ``AADSTS{code}:`` and ends with the trace lines, as Entra's do."""
    trace_id = str(uuid.uuid4())
    correlation_id = str(uuid.uuid4())
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    out: dict[str, Any] = {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {description} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {stamp}"
        ),
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
    if suberror:
        out["suberror"] = suberror
    return out


def bad_request(message: str, code: str = "ErrorInvalidRequest") -> GraphError:
    return GraphError(400, code, message)


def not_found(message: str = "The specified object was not found in the store.") -> GraphError:
    return GraphError(404, "ErrorItemNotFound", message)


def access_denied() -> GraphError:
    return GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
