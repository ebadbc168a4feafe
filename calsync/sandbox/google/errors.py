"""Google's error envelopes: the Calendar API's JSON error body and the OAuth token endpoint's.

Calendar v3 errors look like ``{"error": {"errors": [{"domain", "reason", "message", ...}], "code", "message"}}``
(provider-facts §1.6). Clients branch on ``error.errors[0].reason`` (googleapiclient retries 403 only for
``userRateLimitExceeded``/``rateLimitExceeded``), so reasons and domains are copied exactly. OAuth endpoints answer
``{"error": ..., "error_description": ...}`` (provider-facts §2).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

JSON_TYPE = "application/json; charset=UTF-8"


class ApiError(Exception):
    """A Calendar API failure, raised anywhere in the emulator and rendered in Google's envelope."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        domain: str = "global",
        location_type: str | None = None,
        location: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.domain = domain
        self.location_type = location_type
        self.location = location
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        item: dict[str, Any] = {"domain": self.domain, "reason": self.reason, "message": self.message}
        if self.location_type:
            item["locationType"] = self.location_type
        if self.location:
            item["location"] = self.location
        return {"error": {"errors": [item], "code": self.status, "message": self.message}}

    def response(self) -> Response:
        return Response(json.dumps(self.body()).encode(), self.status, self.headers or None, media_type=JSON_TYPE)


def not_found() -> ApiError:
    """404 notFound: also what Google answers for a calendar the caller cannot see (§1.6)."""
    return ApiError(404, "notFound", "Not Found")


def bad_request(message: str, *, reason: str = "invalid", location: str | None = None) -> ApiError:
    return ApiError(
        400, reason, message, location_type="parameter" if location else None, location=location
    )


def required(message: str) -> ApiError:
    return ApiError(400, "required", message)


def auth_error() -> ApiError:
    """401 authError, with the WWW-Authenticate header Google sends (§1.6)."""
    return ApiError(
        401,
        "authError",
        "Invalid Credentials",
        location_type="header",
        location="Authorization",
        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
    )


def insufficient_scopes() -> ApiError:
    return ApiError(
        403,
        "insufficientPermissions",
        "Request had insufficient authentication scopes.",
        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="insufficient_scope"'},
    )


def time_range_empty(location: str) -> ApiError:
    return ApiError(
        400,
        "timeRangeEmpty",
        "The specified time range is empty.",
        domain="calendar",
        location_type="parameter",
        location=location,
    )


def full_sync_required() -> ApiError:
    """410 with the exact body of provider-facts §1.4."""
    return ApiError(
        410,
        "fullSyncRequired",
        "Sync token is no longer valid, a full sync is required.",
        domain="calendar",
        location_type="parameter",
        location="syncToken",
    )


def forbidden_for_non_organizer(message: str) -> ApiError:
    return ApiError(403, "forbiddenForNonOrganizer", message, domain="calendar")


_FAULTS: dict[int, tuple[str, str, str]] = {
    400: ("badRequest", "global", "Bad Request"),
    401: ("authError", "global", "Invalid Credentials"),
    403: ("rateLimitExceeded", "usageLimits", "Rate Limit Exceeded"),
    404: ("notFound", "global", "Not Found"),
    409: ("conflict", "global", "Conflict"),
    429: ("rateLimitExceeded", "usageLimits", "Rate Limit Exceeded"),
    500: ("backendError", "global", "Backend Error"),
    502: ("backendError", "global", "Bad Gateway"),
    503: ("backendError", "global", "The service is currently unavailable."),
    504: ("backendError", "global", "Deadline Exceeded"),
}


def render_api_fault(status: int, retry_after: int | None) -> tuple[bytes, dict[str, str]]:
    """FaultMiddleware's renderer for the Calendar API: the §1.6 envelope, plus Retry-After when given."""
    reason, domain, message = _FAULTS.get(status, ("error", "global", f"HTTP {status}"))
    body = ApiError(status, reason, message, domain=domain).body()
    headers = {"Content-Type": JSON_TYPE}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return json.dumps(body).encode(), headers


def render_oauth_fault(status: int, retry_after: int | None) -> tuple[bytes, dict[str, str]]:
    """FaultMiddleware's renderer for the token and revoke endpoints (google-auth retries these, §2)."""
    error = {500: "internal_failure", 503: "temporarily_unavailable", 429: "rate_limit_exceeded"}.get(
        status, "server_error"
    )
    headers = {"Content-Type": JSON_TYPE}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return json.dumps({"error": error, "error_description": f"HTTP {status}"}).encode(), headers


def oauth_error(status: int, error: str, description: str) -> Response:
    """An OAuth endpoint error: ``{"error", "error_description"}`` (provider-facts §2)."""
    body = json.dumps({"error": error, "error_description": description}).encode()
    return Response(body, status, media_type=JSON_TYPE)
