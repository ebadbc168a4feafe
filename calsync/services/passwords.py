"""Password hashing (argon2id, the argon2-cffi defaults) for the sign-in of the pages."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("calsync-dummy-password")


def hash_password(password: str) -> str:
    return str(_hasher.hash(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches. With no hash, still spend the same work so timing reveals nothing."""
    try:
        return bool(_hasher.verify(password_hash or _DUMMY, password)) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
