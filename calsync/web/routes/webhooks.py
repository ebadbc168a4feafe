"""Webhook receivers for Google watch channels and Graph subscriptions. They answer fast (Graph wants 2xx
within 3 s, the validation echo within 10 s); the work happens in a worker (see calsync.services.notifications).

Size and nesting are limited before this code runs (:mod:`calsync.web.limits`: 413 and 400). Here a body that is
not UTF-8 JSON is 400; any JSON value at all is then answered 202, the items calsync cannot use ignored
(:func:`calsync.services.notifications.parse_graph`), so no body shape reaches a 5xx.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from calsync.services import notifications
from calsync.web.deps import Ctx
from calsync.web.errors import error_body

router = APIRouter(prefix="/webhooks", tags=["webhooks"], include_in_schema=False)


@router.post("/google")
async def google(request: Request, ctx: Ctx) -> Response:
    """Google sends headers only (provider-facts §1.5); unknown or forged channels are ignored, still 200."""
    await run_in_threadpool(
        notifications.google,
        ctx,
        channel_id=request.headers.get("x-goog-channel-id"),
        token=request.headers.get("x-goog-channel-token"),
        state=request.headers.get("x-goog-resource-state"),
    )
    return Response(status_code=200)


@router.post("/microsoft")
async def microsoft(request: Request, ctx: Ctx) -> Response:
    """Graph: echo ``validationToken`` as text/plain (the subscription handshake), else accept with 202.

    The echo is the caller's own text sent back, so it is ``text/plain`` with ``nosniff``: no browser may read it
    as HTML or script.
    """
    token = request.query_params.get("validationToken")
    if token is not None:
        return PlainTextResponse(token, status_code=200, headers={"X-Content-Type-Options": "nosniff"})
    body = await request.body()
    try:
        payload = json.loads(body.decode("utf-8")) if body else None
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or (past the depth limit's scan) too deep
        return JSONResponse(error_body("invalid_input", "the body must be JSON in UTF-8"), 400)
    await run_in_threadpool(notifications.microsoft, ctx, payload)
    return Response(status_code=202)
