"""Password hashing (argon2id) for the sign-in of the pages, at the cost the settings name.

The cost is a setting (``CALSYNC_PASSWORD_TIME_COST``, ``_MEMORY_KIB``, ``_PARALLELISM``; the defaults are
argon2-cffi's, RFC 9106's low-memory profile) rather than a constant because a slow hash is the point in
production and pure waste in tests, which hash and verify thousands of demo passwords: the test suite sets the
cheapest parameters through the environment. A stored hash carries its own parameters, so verifying never
depends on the current setting, and changing the cost never locks anyone out.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from calsync.core import validation
from calsync.errors import InvalidInput

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


# ---- the password policy: the one check every path that sets a password calls ----------------------------------

MIN_SCORE = 3
"""zxcvbn's score 3: "safely unguessable", under 10^10 guesses is not enough to find it (the estimator's advice
for an online service; with argon2 at rest an offline attacker gets far fewer than that per second)."""
_ESTIMATED = 72
"""zxcvbn refuses longer input (its matching is quadratic); the first 72 characters are estimated."""
_APP_WORDS = ("calsync", "calendar sync")
_zxcvbn_lock = threading.Lock()
"""zxcvbn keeps the user inputs in a module-level dictionary between its steps, so two threads estimating at once
would see each other's inputs; one estimate at a time (each takes a few milliseconds)."""


def check_password(password: str, *, email: str = "", name: str = "", field: str = "password") -> str:
    """The password if a security reviewer would accept it, else :class:`InvalidInput` saying what to do.

    Rules: 12 to 1024 characters (``validation.password``); not the person's email or name, nor built around them;
    and a zxcvbn score of at least 3, which refuses common passwords, dictionary words with digits, keyboard walks,
    dates and repeats. Called by every path that sets a password (new people, the demo, changing your password,
    and the set-password links).
    """
    validation.password(password, field=field)
    local = email.split("@", 1)[0]
    squeezed = _squeeze(password)
    for own in (email, local, name, *name.split()):
        own_squeezed = _squeeze(own)
        if len(own_squeezed) >= 4 and own_squeezed in squeezed:
            raise InvalidInput(
                f"{field} must not contain your email address or your name; choose words that have nothing to do "
                "with you, e.g. three or four unrelated words",
                field=field,
            )
    inputs = [part for part in (email, local, name, *name.split(), *_APP_WORDS) if part]
    with _zxcvbn_lock:
        result = zxcvbn(password[:_ESTIMATED], user_inputs=inputs)
    if int(result["score"]) < MIN_SCORE:
        feedback = result.get("feedback") or {}
        warning = str(feedback.get("warning") or "").rstrip(".")
        hints = " ".join(str(s) for s in feedback.get("suggestions") or [])
        raise InvalidInput(
            f"{field} is too easy to guess"
            + (f" ({warning.lower()})" if warning else "")
            + ". Use a longer password that is not a common word or phrase, e.g. three or four unrelated words"
            + (f". {hints}" if hints else ""),
            field=field,
        )
    return password


def _squeeze(text: str) -> str:
    """Lower-case letters and digits only, so 'Max.Muster' and 'max muster' compare equal."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())
