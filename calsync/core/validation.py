"""Plain-data checks shared by every entry point: emails, names, event text, passwords.

Each raises :class:`~calsync.errors.InvalidInput` naming the field and what to do, so the API and the CLI say the
same thing.
"""

from __future__ import annotations

import re

from calsync.errors import InvalidInput

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

MAX_EMAIL = 254
MAX_NAME = 200
MAX_TITLE = 300
MAX_LOCATION = 500
MAX_DESCRIPTION = 20_000
MIN_PASSWORD = 12
MAX_PASSWORD = 1024


def email(value: str, *, field: str = "email") -> str:
    """A trimmed, lower-cased email address. Emails are globally unique, compared case-insensitively."""
    cleaned = value.strip().lower()
    if len(cleaned) > MAX_EMAIL or not _EMAIL.match(cleaned):
        raise InvalidInput(f"{value!r} is not an email address; use the form name@example.org", field=field)
    return cleaned


def required_text(value: str, *, field: str, max_length: int) -> str:
    """Trimmed text that must not be empty."""
    cleaned = value.strip()
    if not cleaned:
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(cleaned) > max_length:
        raise InvalidInput(f"{field} is {len(cleaned)} characters long; at most {max_length} are allowed", field=field)
    return cleaned


def optional_text(value: str | None, *, field: str, max_length: int) -> str:
    """Trimmed text, empty allowed (``None`` becomes empty)."""
    cleaned = (value or "").strip()
    if len(cleaned) > max_length:
        raise InvalidInput(f"{field} is {len(cleaned)} characters long; at most {max_length} are allowed", field=field)
    return cleaned


def password(value: str, *, field: str = "password") -> str:
    """The length bounds of a password; the whole policy is ``calsync.services.passwords.check_password``."""
    if len(value) < MIN_PASSWORD:
        raise InvalidInput(
            f"{field} must be at least {MIN_PASSWORD} characters long; three or four unrelated words are easy to "
            "remember and long enough",
            field=field,
        )
    if len(value) > MAX_PASSWORD:
        raise InvalidInput(f"{field} must be at most {MAX_PASSWORD} characters long", field=field)
    return value


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with "…" when cut: a provider's error shown
    on the admin page reads "… before which tokens are not …", never "… are not va" (issue 16)."""
    if len(text) <= limit:
        return text
    cut = text[: max(1, limit - 1)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:(") + "…"
