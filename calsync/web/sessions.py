"""Signed session cookies for the pages of a later issue, and the key file that signs them.

The key is 32 random bytes in ``<data_dir>/session.key``, created owner-only (0600) on first run and refused if
anyone else can read it. The cookie holds the person's id and a fingerprint of their password hash, signed and
time-stamped (itsdangerous); it is HttpOnly, SameSite=Lax (so other sites' forms cannot send it), and Secure when
the public URL is https. Changing the password ends every session.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from calsync.errors import ConfigurationError, NotAuthenticated

COOKIE = "calsync_session"
MAX_AGE_SECONDS = 14 * 24 * 3600
KEY_FILE = "session.key"


def load_or_create_key(data_dir: Path) -> bytes:
    """The session signing key, created on first run with mode 0600."""
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


class SessionSigner:
    def __init__(self, key: bytes) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="calsync-session")

    def dumps(self, person_id: int, fingerprint: str) -> str:
        return self._serializer.dumps({"p": person_id, "f": fingerprint})

    def loads(self, cookie: str) -> tuple[int, str]:
        """The (person id, fingerprint) a cookie carries, or :class:`NotAuthenticated`."""
        try:
            data: Any = self._serializer.loads(cookie, max_age=MAX_AGE_SECONDS)
            person_id, fingerprint = int(data["p"]), str(data["f"])
        except (BadSignature, KeyError, TypeError, ValueError):
            raise NotAuthenticated("your session is not valid or has expired; sign in again") from None
        return person_id, fingerprint


def set_session_cookie(response: Response, value: str, *, secure: bool) -> None:
    """The session cookie, the same for the API and the pages: HttpOnly, SameSite=Lax, Secure on https."""
    response.set_cookie(COOKIE, value, max_age=MAX_AGE_SECONDS, httponly=True, samesite="lax", secure=secure, path="/")
