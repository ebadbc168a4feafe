"""``/healthz`` (the process is alive), ``/readyz`` (it can do its job, or why not) and ``/metrics`` (Prometheus).

No authentication: a load balancer and a scraper call them. They reveal no personal data (counts and reasons
only); docs/deploy.md has the proxy keep ``/metrics`` to the internal network.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from calsync import metrics
from calsync.services.health import readiness
from calsync.web.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz(request: Request) -> Health:
    return Health(status="ok", database=request.app.state.runtime.db.dialect)


@router.get(
    "/readyz",
    summary="Readiness: database reachable, migrations at head, a fresh worker heartbeat (when expected)",
    include_in_schema=False,  # for load balancers (docs/deploy.md); its 503 is an answer, not a server error
)
def readyz(request: Request) -> JSONResponse:
    runtime = request.app.state.runtime
    settings = runtime.settings
    result = readiness(
        runtime.db,
        runtime.service.now(),
        expect_workers=settings.expect_workers,
        heartbeat_within=dt.timedelta(seconds=settings.lease_seconds * 2),
    )
    body = {"status": "ready" if result.ready else "not ready", "checks": result.checks, "reason": result.reason}
    return JSONResponse(body, status_code=200 if result.ready else 503)


@router.get("/metrics", summary="Prometheus metrics of this process and the installation", include_in_schema=False)
async def metrics_endpoint(request: Request) -> Response:
    body = await run_in_threadpool(metrics.exposition, request.app.state.installation_metrics)
    return Response(body, media_type=metrics.CONTENT_TYPE)
