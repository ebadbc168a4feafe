"""The FastAPI application factory: ``create_app(settings)``.

Reads nothing from the environment: the settings come in (design.md §7.9). The database is opened here, the
migrations are *not* applied (``calsync db upgrade``, ``serve`` and ``demo`` do that before serving).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from calsync import __version__
from calsync.config import Settings
from calsync.services.context import Clock, system_clock
from calsync.services.runtime import Runtime, build_runtime
from calsync.store.db import Database
from calsync.web import errors, pages
from calsync.web.limits import RequestLimits
from calsync.web.routes import connections, events, oauth, organizations, people, session, webhooks
from calsync.web.schemas import Health
from calsync.web.sessions import SessionSigner, load_or_create_key

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
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.runtime = runtime
    app.state.ctx = runtime.service
    app.state.signer = SessionSigner(load_or_create_key(settings.ensure_data_dir()))
    app.state.secure_cookies = settings.effective_base_url.startswith("https://")
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
        (session.router, (401,)),
        (connections.router, (401, 403, 404, 409, 502, 503)),
    ):
        api.include_router(router, responses=errors.responses(*statuses))
    app.include_router(api)
    app.include_router(oauth.router)  # browser routes: /connect/{provider}, /oauth/{provider}/callback
    app.include_router(pages.router)  # the server-rendered pages (calsync.web.pages)
    app.include_router(webhooks.router)  # provider push notifications (calsync.services.notifications)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")

    @app.get(
        "/healthz", tags=["health"], summary="Liveness and database reachability", responses=errors.responses()
    )
    def healthz() -> Health:
        with db.session(write=False) as s:
            s.execute(text("SELECT 1"))
        return Health(status="ok", database=db.dialect)

    return app
