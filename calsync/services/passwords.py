"""Password hashing (argon2id) for the sign-in of the pages, at the cost the settings name.

The cost is a setting (``CALSYNC_PASSWORD_TIME_COST``, ``_MEMORY_KIB``, ``_PARALLELISM``; the defaults are
argon2-cffi's, RFC 9106's low-memory profile) rather than a constant because a slow hash is the point in
production and pure waste in tests, which hash and verify thousands of demo passwords: the test suite sets the
cheapest parameters through the environment. A stored hash carries its own parameters, so verifying never
depends on the current setting, and changing the cost never locks anyone out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

DUMMY_PASSWORD = "calsync-dummy-password"


@dataclass(frozen=True)
class PasswordCost:
    """argon2id's work factors: passes over memory, memory in KiB, lanes."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4


class Passwords:
    """Hashes new passwords at ``cost`` and checks passwords against stored hashes."""

    def __init__(self, cost: PasswordCost | None = None) -> None:
        self.cost = cost or PasswordCost()
        self._hasher = PasswordHasher(
            time_cost=self.cost.time_cost, memory_cost=self.cost.memory_kib, parallelism=self.cost.parallelism
        )

    @cached_property
    def _dummy(self) -> str:
        """A hash at this cost to check against when there is none, made on first use (it costs one hash)."""
        return str(self._hasher.hash(DUMMY_PASSWORD))

    def hash(self, password: str) -> str:
        return str(self._hasher.hash(password))

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True if ``password`` matches. With no hash, still spend the same work so timing reveals nothing."""
        try:
            return bool(self._hasher.verify(password_hash or self._dummy, password)) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False
