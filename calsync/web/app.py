"""The FastAPI application factory: ``create_app(settings)``.

Reads nothing from the environment: the settings come in (design.md §7.9). The database is opened here, the
migrations are *not* applied (``calsync db upgrade``, ``serve`` and ``demo`` do that before serving).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import urllib.parse

import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from calsync import __version__, metrics
from calsync.config import Settings
from calsync.services.auth import SessionPolicy
from calsync.services.context import Clock, system_clock
from calsync.services.health import installation_probe
from calsync.services.runtime import Runtime, build_runtime
from calsync.store.db import Database
from calsync.web import api_docs, errors, pages
from calsync.web.limits import RequestLimits
from calsync.web.routes import connections, events, health, oauth, organizations, password, people, session, webhooks
from calsync.web.sessions import load_or_create_key

API_PREFIX = "/api/v1"


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    clock: Clock = system_clock,
    runtime: Runtime | None = None,
) -> FastAPI:
    """The API for ``settings``. Tests may pass their own ``database``, a fixed ``clock``, or a whole ``runtime``
    (providers pointed at the sandbox)."""
    runtime = runtime or build_runtime(settings, database=database, clock=clock)
    db = runtime.db
    app = FastAPI(
        title="calsync",
        version=__version__,
        description="The events platform behind calsync: organizations, people, events and RSVPs. "
        "Authenticate with `Authorization: Bearer <api token>` or the session cookie from `POST /api/v1/session`.",
        docs_url=None,  # served by calsync.web.api_docs, with no CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.runtime = runtime
    app.state.ctx = runtime.service
    key = load_or_create_key(settings.ensure_data_dir())
    app.state.csrf_key = hashlib.sha256(b"calsync-csrf|" + key).digest()
    app.state.installation_metrics = metrics.installation_registry(
        installation_probe(db, runtime.service.now, dt.timedelta(seconds=settings.lease_seconds * 2))
    )
    app.state.secure_cookies = settings.effective_base_url.startswith("https://")
    public = urllib.parse.urlsplit(settings.effective_base_url)
    app.state.public_origin = f"{public.scheme}://{public.netloc}".lower()
    app.state.trusted_proxies = settings.trusted_proxy_networks
    app.state.session_policy = SessionPolicy(
        idle=dt.timedelta(minutes=settings.session_idle_minutes),
        lifetime=dt.timedelta(hours=settings.session_max_hours),
    )
    errors.install(app)
    app.add_middleware(
        RequestLimits, max_body_bytes=settings.max_body_bytes, max_json_depth=settings.max_json_depth
    )

    api = APIRouter(prefix=API_PREFIX)
    # what each group of operations can answer besides success (and the limits' 400/413/422): the OpenAPI
    # document lists it, from the one mapping in web/errors.py
    for router, statuses in (
        (organizations.router, (401, 403)),
        (people.router, (401, 403, 404, 409)),
        (events.router, (401, 403, 404, 409)),
        (session.router, (401, 403, 429)),
        (password.router, ()),
        (connections.router, (401, 403, 404, 409, 502, 503)),
    ):
        api.include_router(router, responses=errors.responses(*statuses))
    app.include_router(api)
    app.include_router(oauth.router)  # browser routes: /connect/{provider}, /oauth/{provider}/callback
    app.include_router(pages.router)  # the server-rendered pages (calsync.web.pages)
    app.include_router(webhooks.router)  # provider push notifications (calsync.services.notifications)
    app.include_router(health.router, responses=errors.responses())  # /healthz, /readyz, /metrics
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    api_docs.install(app)  # /docs and /redoc, assets served here
    return app


def server_config(app: FastAPI, settings: Settings, *, port: int | None = None) -> uvicorn.Config:
    """How ``calsync serve`` runs the app under uvicorn. uvicorn's own proxy-header handling is off: by default it
    believes ``X-Forwarded-For`` from 127.0.0.1 and rewrites the client address before calsync sees it, which let
    anyone on the host (or any local reverse proxy passing the header through) pose as a new client per request.
    calsync reads forwarding headers itself, only from ``CALSYNC_TRUSTED_PROXIES`` (:mod:`calsync.web.client`)."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port if port is None else port,
        log_level=settings.log_level.lower(),
        log_config=None,  # calsync.logs configures every process's logging (redaction, JSON)
        timeout_graceful_shutdown=5,
        proxy_headers=False,
    )
