"""Plain-data checks of calsync.core.validation: emails, required and optional text, passwords."""

from __future__ import annotations

import pytest

from calsync.core import validation
from calsync.errors import InvalidInput


@pytest.mark.parametrize(("raw", "clean"), [(" Ada@Example.ORG ", "ada@example.org"), ("a.b+c@x.io", "a.b+c@x.io")])
def test_emails_are_trimmed_and_lower_cased(raw: str, clean: str) -> None:
    """Emails compare case-insensitively, so they are stored lower-cased."""
    assert validation.email(raw) == clean


@pytest.mark.parametrize("raw", ["", "ada", "ada@", "@example.org", "a b@example.org", "ada@example"])
def test_bad_emails_are_refused(raw: str) -> None:
    """Strings that are not email addresses are refused with the expected form."""
    with pytest.raises(InvalidInput, match="name@example.org"):
        validation.email(raw)


def test_required_text_must_not_be_blank_or_too_long() -> None:
    """Titles and names are trimmed; blank or overlong ones are refused on their field."""
    assert validation.required_text("  Hi ", field="title", max_length=5) == "Hi"
    with pytest.raises(InvalidInput) as err:
        validation.required_text("   ", field="title", max_length=5)
    assert err.value.field == "title"
    with pytest.raises(InvalidInput, match="at most 5"):
        validation.required_text("toolong", field="title", max_length=5)


def test_optional_text_turns_none_into_empty() -> None:
    """Descriptions and locations may be absent, which is stored as empty text."""
    assert validation.optional_text(None, field="location", max_length=5) == ""


def test_short_passwords_are_refused() -> None:
    """A password needs at least twelve characters (the whole policy: tests/integration/test_password_policy.py)."""
    for short in ("short", "elevenchars"):
        with pytest.raises(InvalidInput, match="at least 12 characters long; three or four unrelated words"):
            validation.password(short)
    assert validation.password("twelve chars") == "twelve chars"
    with pytest.raises(InvalidInput, match="at most 1024"):
        validation.password("x" * 1025)
