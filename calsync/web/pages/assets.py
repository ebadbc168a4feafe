"""The site's icon: linked from every page (``base.html``), and answered at ``/favicon.ico`` for clients that ask
there without reading the page (issue 16: every page logged a 404 for it)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from calsync.web.pages.common import STATIC_DIR

router = APIRouter(include_in_schema=False)

ICON = STATIC_DIR / "favicon.svg"


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(ICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})
