"""Where the sandbox's random ids and secrets come from: the system's randomness, or a seeded generator.

The simulation seeds this source before it builds each seed's sandbox (:func:`seed`), so event, calendar, account
and subscription ids, authorization codes and tokens are the same in every run of that seed (it replays exactly,
and calsync orders copies of an entry by their ids), and puts the system's randomness back when it is done.
Otherwise they are as unpredictable as :mod:`secrets` makes them. One source per process: only a process that
runs one sandbox at a time (the simulation's) may seed it.
"""

from __future__ import annotations

import base64
import random
import secrets
import threading
import uuid as _uuid

_lock = threading.Lock()
_source: random.Random = secrets.SystemRandom()
_count = 0


def seed(value: int | str | None) -> None:
    """Seed the source (None: the system's randomness again) and restart the counter."""
    global _source, _count
    with _lock:
        _source = secrets.SystemRandom() if value is None else random.Random(f"calsync-sandbox:{value}")
        _count = 0


def token_bytes(n: int) -> bytes:
    with _lock:
        return bytes(_source.getrandbits(8) for _ in range(n))


def token_hex(n: int) -> str:
    return token_bytes(n).hex()


def token_urlsafe(n: int) -> str:
    return base64.urlsafe_b64encode(token_bytes(n)).rstrip(b"=").decode("ascii")


def uuid4() -> _uuid.UUID:
    return _uuid.UUID(bytes=token_bytes(16), version=4)


def choice(alphabet: str) -> str:
    with _lock:
        return _source.choice(alphabet)


def counter() -> int:
    """1, 2, 3, ...: restarted by :func:`seed`."""
    global _count
    with _lock:
        _count += 1
        return _count
