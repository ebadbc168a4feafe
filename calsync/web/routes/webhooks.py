"""Webhook receivers for Google watch channels and Graph subscriptions. They answer fast (Graph wants 2xx
within 3 s, the validation echo within 10 s); the work happens in a worker (see calsync.services.notifications)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from calsync.services import notifications
from calsync.web.deps import Ctx

router = APIRouter(prefix="/webhooks", tags=["webhooks"], include_in_schema=False)

MAX_BODY = 1_000_000
"""Graph batches notifications, but a megabyte is far beyond any real delivery: refuse larger bodies (413)."""


async def _body(request: Request) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return body


@router.post("/google")
async def google(request: Request, ctx: Ctx) -> Response:
    """Google sends headers only (provider-facts §1.5); unknown or forged channels are ignored, still 200."""
    if await _body(request) is None:
        return JSONResponse({"error": {"code": "too_large", "message": "notification body too large"}}, 413)
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
    """Graph: echo ``validationToken`` as text/plain (the subscription handshake), else accept with 202."""
    token = request.query_params.get("validationToken")
    if token is not None:
        return PlainTextResponse(token, status_code=200)
    body = await _body(request)
    if body is None:
        return JSONResponse({"error": {"code": "too_large", "message": "notification body too large"}}, 413)
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        return JSONResponse({"error": {"code": "invalid_input", "message": "the body must be JSON"}}, 400)
    await run_in_threadpool(notifications.microsoft, ctx, payload)
    return Response(status_code=202)
