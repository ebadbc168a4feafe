"""One JSON error shape for every failure: ``{"error": {"code": ..., "message": ..., "field": ...}}``.

Each :class:`~calsync.errors.CalsyncError` class maps to one status. FastAPI's request-validation errors get the
same shape, with a message that starts with the field's name, so a client always knows what to fix.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from calsync import errors

log = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of decides.
STATUS: list[tuple[type[errors.CalsyncError], int, str]] = [
    (errors.InvalidInput, 422, "invalid_input"),
    (errors.NotAuthenticated, 401, "not_authenticated"),
    (errors.FeatureDisabled, 403, "feature_disabled"),
    (errors.PermissionDenied, 403, "permission_denied"),
    (errors.NotFound, 404, "not_found"),
    (errors.Conflict, 409, "conflict"),
    (errors.ConfigurationError, 500, "configuration_error"),
    (errors.ProviderError, 502, "provider_error"),
]


def status_for(exc: errors.CalsyncError) -> tuple[int, str]:
    for cls, status, code in STATUS:
        if isinstance(exc, cls):
            return status, code
    return 500, "error"


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def _calsync_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.CalsyncError)
    status, code = status_for(exc)
    field = exc.field if isinstance(exc, errors.InvalidInput) else None
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_body(code, exc.message, field), status_code=status, headers=headers)


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
    message = str(error.get("msg", "invalid value"))
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


def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}.get(exc.status_code, "http_error")
    message = str(exc.detail) if exc.status_code != 404 else "no such endpoint; see /docs for the API"
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(error_body("internal", "internal error; the server log has the details"), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.CalsyncError, _calsync_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
