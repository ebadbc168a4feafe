"""The session cookie, and the key file the CSRF tokens are derived from.

The cookie (``calsync_session``) holds a random 256-bit session id and nothing else; the session itself is a row on
the server (:mod:`calsync.services.auth`), so signing out, a password change or an administrator ends it for every
copy of the cookie. It is HttpOnly, SameSite=Lax, Secure when the public URL is https, and lives as long as the
absolute session lifetime (``CALSYNC_SESSION_MAX_HOURS``); the idle limit is enforced on the server.

The key is 32 random bytes in ``<data_dir>/session.key``, created owner-only (0600) on first run and refused if
anyone else can read it. It keys the CSRF tokens (:mod:`calsync.web.csrf`).
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from fastapi import Request
from starlette.responses import Response

from calsync.errors import ConfigurationError
from calsync.services.auth import SessionPolicy

COOKIE = "calsync_session"
KEY_FILE = "session.key"


def load_or_create_key(data_dir: Path) -> bytes:
    """The key file's secret, created on first run with mode 0600."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigurationError(f"{path} can be read by other users; run: chmod 600 {path}") from None
        key = path.read_text().strip()
        if len(key) < 32:
            raise ConfigurationError(f"{path} is damaged (too short); delete it to create a new one") from None
        return key.encode()
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key.encode()


def session_policy(request: Request) -> SessionPolicy:
    value = request.app.state.session_policy
    assert isinstance(value, SessionPolicy)
    return value


def set_session_cookie(request: Request, response: Response, session_id: str) -> None:
    """The session cookie, the same for the API and the pages: HttpOnly, SameSite=Lax, Secure on https."""
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(session_policy(request).lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=bool(request.app.state.secure_cookies),
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="lax", secure=bool(request.app.state.secure_cookies)
    )
