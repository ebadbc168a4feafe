"""What ``calsync demo`` needs besides serving: one demo per data directory, ports that may be taken, and the
demo's settings kept with its data so a restart (and every other command) finds them.

- **One demo at a time.** The demo holds an exclusive ``fcntl`` lock on ``<demo_dir>/demo.lock`` for as long as it
  runs; a second demo on the same directory fails to take it and stops before touching anything (the kernel drops
  the lock when the process dies, even on SIGKILL, so a stale lock file never blocks).
- **Data survives restarts.** The database, the token key file and the sandbox's certificates stay in
  ``<demo_dir>``; ``--reset`` (under the lock) empties it first.
- **Other commands reach it.** ``<demo_dir>/calsync.env`` holds the demo's sandbox map and OAuth client (random,
  created once, owner-only); with ``CALSYNC_DATA_DIR=<demo_dir>`` every command reads it (calsync.config).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

from dotenv import dotenv_values

from calsync.config import DATA_DIR_ENV_FILE
from calsync.errors import ConfigurationError

LOCK_FILE = "demo.lock"
GOOGLE_CLIENT_ID = "calsync-demo.apps.googleusercontent.com"
MICROSOFT_CLIENT_ID = "00000000-0000-4000-8000-00000000ca15"


class DemoRunning(ConfigurationError):
    """Another demo holds this data directory."""


@contextlib.contextmanager
def demo_lock(demo_dir: Path) -> Iterator[None]:
    """Hold the demo's lock for the block; raise :class:`DemoRunning` (having changed nothing) when it is taken."""
    demo_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(demo_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise DemoRunning(
                f"a demo is already running on {demo_dir} (process {pid}); stop it first, "
                "or give this one another CALSYNC_DATA_DIR"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def reset(demo_dir: Path) -> None:
    """Empty the demo directory (the lock file stays: it is held)."""
    for path in demo_dir.iterdir():
        if path.name == LOCK_FILE:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def demo_settings(demo_dir: Path) -> dict[str, str]:
    """The demo's kept settings (sandbox map, OAuth clients), created on the first run and reused after."""
    path = demo_dir / DATA_DIR_ENV_FILE
    kept = {k: v for k, v in dotenv_values(path).items() if v is not None} if path.is_file() else {}
    wanted = {
        "CALSYNC_SANDBOX_MAP": str(demo_dir / "sandbox.json"),
        "CALSYNC_GOOGLE_CLIENT_ID": GOOGLE_CLIENT_ID,
        "CALSYNC_GOOGLE_CLIENT_SECRET": kept.get("CALSYNC_GOOGLE_CLIENT_SECRET") or secrets.token_urlsafe(24),
        "CALSYNC_MICROSOFT_CLIENT_ID": MICROSOFT_CLIENT_ID,
        "CALSYNC_MICROSOFT_CLIENT_SECRET": kept.get("CALSYNC_MICROSOFT_CLIENT_SECRET") or secrets.token_urlsafe(24),
        "CALSYNC_PUSH_NOTIFICATIONS": "true",
        "CALSYNC_POLL_INTERVAL": "30",
    }
    if kept != wanted:
        text = "# written by `calsync demo`: the demo's sandbox and OAuth clients (local only)\n"
        text += "".join(f"{k}={v}\n" for k, v in wanted.items())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
    return wanted


def bind(host: str, port: int, *, fallback: bool) -> socket.socket:
    """A listening socket on ``host:port``; if that port is taken and ``fallback``, on any free port instead.
    Raises :class:`ConfigurationError` with one line when neither works."""
    try:
        return _listen(host, port)
    except OSError as exc:
        if not fallback or port == 0:
            raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}; set CALSYNC_PORT") from None
    try:
        return _listen(host, 0)
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on {host}: {exc.strerror}; set CALSYNC_HOST") from None


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def port_free(host: str, port: int) -> bool:
    try:
        _listen(host, port).close()
    except OSError:
        return False
    return True
