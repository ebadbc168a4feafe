"""Plain-data checks shared by every entry point: emails, names, event text, passwords.

Each raises :class:`~calsync.errors.InvalidInput` naming the field and what to do, so the API, the pages and the
CLI say the same thing, on SQLite and PostgreSQL alike.

Characters (docs/bad-input.md, "Text calsync refuses"):

* **Unstorable** anywhere: NUL (U+0000, PostgreSQL text cannot hold it) and lone surrogates (U+D800 to U+DFFF,
  which no UTF-8 database, file or provider can encode). :func:`storable` checks just these; the web layer runs
  it on every string of every request body, so even text that is only looked up (a sign-in email) is refused.
* **Control characters** (Unicode category Cc: U+0001 to U+001F, U+007F to U+009F) have no place in a title,
  a name, a location, an email or a label: they are refused, not stripped, so what is stored is what was sent.
  Multi-line text (an event's description) keeps tab, line feed and carriage return.
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


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _refuse(value: str, found: re.Match[str], field: str) -> InvalidInput:
    char = found.group()
    position = found.start() + 1
    if char == "\x00":
        what = "the NUL character (U+0000), which cannot be stored"
    elif "\ud800" <= char <= "\udfff":
        what = f"an unpaired surrogate (U+{ord(char):04X}), which is not valid Unicode text"
    else:
        what = f"the control character U+{ord(char):04X}"
    return InvalidInput(f"{field} contains {what} at character {position}; remove it", field=field)


def storable(value: str, *, field: str) -> str:
    """``value`` unchanged if a database can store it (no NUL, no lone surrogate), else :class:`InvalidInput`."""
    found = _UNSTORABLE.search(value)
    if found:
        raise _refuse(value, found, field)
    return value


def no_control(value: str, *, field: str, multiline: bool = False) -> str:
    """``value`` unchanged if it has no control character (tab and line breaks allowed when ``multiline``)."""
    found = (_CONTROL_MULTILINE if multiline else _CONTROL).search(value)
    if found:
        raise _refuse(value, found, field)
    return value


def email(value: str, *, field: str = "email") -> str:
    """A trimmed, lower-cased email address. Emails are globally unique, compared case-insensitively."""
    no_control(value, field=field)
    cleaned = value.strip().lower()
    if len(cleaned) > MAX_EMAIL or not _EMAIL.match(cleaned):
        raise InvalidInput(f"{value!r} is not an email address; use the form name@example.org", field=field)
    return cleaned


def required_text(value: str, *, field: str, max_length: int) -> str:
    """Trimmed single-line text that must not be empty (a title, a name)."""
    cleaned = no_control(value, field=field).strip()
    if not cleaned:
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(cleaned) > max_length:
        raise InvalidInput(f"{field} is {len(cleaned)} characters long; at most {max_length} are allowed", field=field)
    return cleaned


def optional_text(value: str | None, *, field: str, max_length: int, multiline: bool = False) -> str:
    """Trimmed text, empty allowed (``None`` becomes empty); one line unless ``multiline`` (a description)."""
    cleaned = no_control(value or "", field=field, multiline=multiline).strip()
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
