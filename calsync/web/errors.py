"""One JSON error shape for every failure: ``{"error": {"code": ..., "message": ..., "field": ...}}``.

Each :class:`~calsync.errors.CalsyncError` class maps to one status. FastAPI's request-validation errors get the
same shape, with a message that starts with the field's name, so a client always knows what to fix.

Calendar providers' failures (issue 4) are answered without ever echoing what the provider sent (a token
endpoint's body can carry tokens; provider-facts §2, §4):

- :class:`~calsync.errors.ProviderAuthError` -> 400 with the plain reason, or **409** when it means the person's
  connection is now in error (:class:`~calsync.sync.tokens.ConnectionUnusable`): the reason plus the fix;
- :class:`~calsync.errors.ProviderTransient` -> 503 with ``Retry-After`` (the provider's own when it sent one);
- :class:`~calsync.errors.ProviderPermanent` and any other provider error -> 502 with a calsync-written message.

This module also keeps secrets out of the logs: :func:`install_log_redaction` masks OAuth tokens, codes,
client secrets and bearer credentials in every log record the process makes (ours and the libraries', e.g.
requests-oauthlib logs token responses at DEBUG), and :class:`RedactSecrets` is the same as a handler filter.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from calsync import errors
from calsync.sync.tokens import ConnectionUnusable
from calsync.web.schemas import ErrorOut

log = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of decides.
STATUS: list[tuple[type[errors.CalsyncError], int, str]] = [
    (errors.InvalidInput, 422, "invalid_input"),
    (errors.NotAuthenticated, 401, "not_authenticated"),
    (errors.TooManyAttempts, 429, "too_many_attempts"),
    (errors.FeatureDisabled, 403, "feature_disabled"),
    (errors.PermissionDenied, 403, "permission_denied"),
    (errors.NotFound, 404, "not_found"),
    (errors.Conflict, 409, "conflict"),
    (errors.ConfigurationError, 500, "configuration_error"),
    (ConnectionUnusable, 409, "calendar_connection_error"),
    (errors.ProviderAuthError, 400, "provider_refused_authorization"),
    (errors.ProviderTransient, 503, "provider_unavailable"),
    (errors.ProviderError, 502, "provider_error"),
]

PROVIDER_LABELS = {"google": "Google Calendar", "microsoft": "Outlook"}
DEFAULT_RETRY_AFTER = 30
"""Seconds a client is told to wait after a transient provider failure that named no Retry-After."""


# ---- what the OpenAPI document says each operation can answer ----------------------------------------------

WHY = {
    400: "The body is not valid JSON in UTF-8, or nests deeper than the limit (`too_deep`); or a provider refused "
    "the authorization",
    401: "No credentials, or credentials that match nobody",
    403: "Your role may not do this, the organization's Events module is off (`feature_disabled`) or the "
    "organization is disabled; or a cookie-authenticated change came without the CSRF token",
    404: "No such object in your organization",
    409: "The request clashes with stored state (e.g. a cancelled event), or your calendar connection is in error",
    413: "The body is larger than the limit (`too_large`)",
    422: "A field is invalid: the message names it and says what to fix",
    429: "Too many failed sign-in attempts from this address or for this email; `Retry-After` says when to try again",
    502: "The calendar provider refused the request",
    503: "The calendar provider is busy or unreachable; `Retry-After` says when to try again",
}
EVERY_OPERATION = (400, 413, 422)
"""The request limits (calsync.web.limits) and validation can answer any operation with these."""


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route or router: each status it can answer besides its success, with the one error
    body. Built from this module's mapping (:data:`WHY`), so the document and the answers cannot drift apart."""
    chosen = sorted(set(statuses) | set(EVERY_OPERATION))
    documented: dict[int | str, dict[str, Any]] = {}
    for status in chosen:
        entry: dict[str, Any] = {"model": ErrorOut, "description": WHY[status]}
        if status == 401:
            entry["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}}
        if status == 503:
            entry["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait"}}
        documented[status] = entry
    return documented


def status_for(exc: errors.CalsyncError) -> tuple[int, str]:
    for cls, status, code in STATUS:
        if isinstance(exc, cls):
            return status, code
    return 500, "error"


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def retry_after(exc: errors.ProviderTransient) -> int:
    """Whole seconds for a ``Retry-After`` header: the provider's hint rounded up, else a default."""
    if exc.retry_after is None:
        return DEFAULT_RETRY_AFTER
    return max(1, math.ceil(exc.retry_after))


def provider_message(exc: errors.ProviderError) -> str:
    """What a person is told about a provider failure: plain words written by calsync, never the provider's body
    (which may carry tokens), and what to do next."""
    label = PROVIDER_LABELS.get(exc.provider, exc.provider)
    if isinstance(exc, errors.ProviderUnreadable):
        return exc.message
    if isinstance(exc, errors.ProviderAuthError):
        return exc.reason
    if isinstance(exc, errors.ProviderTransient):
        return (
            f"{label} is busy or unreachable right now ({exc.code or exc.status or 'timeout'}); "
            f"your calendar stays connected. Try again in {retry_after(exc)} seconds."
        )
    detail = exc.code or (f"HTTP {exc.status}" if exc.status else None)
    return f"{label} refused the request{f' ({detail})' if detail else ''}; nothing was changed. " + (
        "If this keeps happening, disconnect and connect your calendar again."
    )


def _calsync_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.CalsyncError)
    status, code = status_for(exc)
    field = exc.field if isinstance(exc, errors.InvalidInput) else None
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    message = exc.message
    if isinstance(exc, errors.TooManyAttempts):
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
    if isinstance(exc, errors.ProviderError):
        message = provider_message(exc)
        log.warning("provider error answered %s: %s", status, exc.message)
        if isinstance(exc, errors.ProviderTransient):
            headers = {"Retry-After": str(retry_after(exc))}
    return JSONResponse(error_body(code, message, field), status_code=status, headers=headers)


def _field_of(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc[1:] if not isinstance(p, int)] if loc else []
    return ".".join(parts) or None


def _validation_message(error: dict[str, Any]) -> tuple[str, str | None]:
    loc = tuple(error.get("loc", ()))
    field = _field_of(loc)
    kind = error.get("type", "")
    where = loc[0] if loc else "body"
    if kind == "json_invalid":
        return f"the request body is not valid JSON ({error.get('ctx', {}).get('error', 'parse error')})", None
    if kind == "missing" and field is None:
        return "the request needs a JSON body", None
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        message = "is not a field of this request; remove it (check its spelling)"
    label = field or str(where)
    if where == "query":
        label = f"query parameter '{label}'"
    elif where == "path":
        label = f"'{label}' in the URL"
    return f"{label}: {message}", field


def _request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_validation_message(dict(e)) for e in exc.errors()]
    message = "; ".join(m for m, _ in problems) or "invalid request"
    field = problems[0][1] if problems else None
    return JSONResponse(error_body("invalid_input", message, field), status_code=422)


METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path (Starlette's 405 names only the first route's methods):
    each method is tried against the app's routes as a request, through the public ``matches``."""
    routes = request.app.router.routes
    return [
        method
        for method in METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}.get(exc.status_code, "http_error")
    message = str(exc.detail) if exc.status_code != 404 else "no such endpoint; see /docs for the API"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        message = f"{request.method} is not allowed here; use {' or '.join(allowed)}"
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=headers or None)


def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(error_body("internal", "internal error; the server log has the details"), status_code=500)


# ---- secrets out of the logs --------------------------------------------------------------------------------

_SECRET_NAMES = (
    r"access_token|refresh_token|id_token|code_verifier|client_secret|client_assertion|assertion|password|"
    r"code|state|token|binding|session_state|calsync_session|calsync_oauth_binding"
)
_PAIR = re.compile(
    rf"""(?ix)
    (["']?\b(?:{_SECRET_NAMES})["']?        # a secret's name, bare or quoted (JSON, repr, form, query)
     \s*(?:=|:)\s*["']?)                    # then = or :, maybe a quote
    ([^"'&\s,;)}}\]]+)                        # the value
    """
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*")
_GOOGLE_SHAPED = re.compile(r"\b(?:ya29\.[A-Za-z0-9._-]+|1//[A-Za-z0-9._-]+)")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """``text`` with every OAuth secret we can recognise masked: name=value pairs (tokens, codes, state, client
    secrets, in forms, query strings, JSON and reprs), bearer credentials, JWTs and Google-shaped tokens."""
    text = _PAIR.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _JWT.sub(REDACTED, text)
    return _GOOGLE_SHAPED.sub(REDACTED, text)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask secrets in a record's message and exception text, in place (the record is then formatted as is)."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: let logging report it as it always does
        return record
    clean = redact(message)
    if clean != message:
        args = record.args
        if isinstance(args, tuple) and args:
            # Keep the args' shape: formatters such as uvicorn's access log unpack them (collapsing them to None
            # lost the OAuth callback's access line to "cannot unpack non-iterable NoneType").
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
            with contextlib.suppress(Exception):
                if record.getMessage() == clean:  # the secrets were all in the args: keep the args
                    clean = ""
        if clean:
            record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        text = logging.Formatter().formatException(record.exc_info)
        record.exc_text = redact(text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactSecrets(logging.Filter):
    """A handler filter doing :func:`redact_record`, for deployments that configure logging themselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install_log_redaction() -> None:
    """Redact every log record this process creates, whichever logger or handler it goes to.

    A record factory (not a filter) because filters on a logger do not see its children's records, and handlers
    come and go (uvicorn's, pytest's): the factory runs once per record that passed the level check. Idempotent.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, "calsync_redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(current(*args, **kwargs))

    factory.calsync_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def install(app: FastAPI) -> None:
    install_log_redaction()
    app.add_exception_handler(errors.CalsyncError, _calsync_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
