"""The password policy (``calsync.services.passwords.check_password``), the one check every password-setting path
calls: new people (API, CLI, demo), changing your own password, and the set-password links."""

from __future__ import annotations

import sys
import threading

import pytest

from calsync.errors import InvalidInput
from calsync.services.demo import DEMO_PASSWORD
from calsync.services.passwords import check_password

EMAIL, NAME = "grace.hopper@example.org", "Grace Hopper"


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("password", "at least 12 characters"),
        ("password1234", "too easy to guess (this is a very common password)"),
        ("Password1234!", "too easy to guess"),
        ("qwertyuiop123", "too easy to guess"),
        ("iloveyou2024!", "too easy to guess"),
        ("aaaaaaaaaaaaaaaa", "too easy to guess"),
        ("123456789012", "too easy to guess"),
        ("calsync-demo", "too easy to guess"),  # the old demo password
        ("calsync2026!", "too easy to guess"),  # the service's own name and a year
        ("grace.hopper@example.org", "must not contain your email address or your name"),
        ("GraceHopper1906!", "must not contain your email address or your name"),
        ("my name is grace hopper", "must not contain your email address or your name"),
        ("grace.hopper-rules", "must not contain your email address or your name"),
    ],
)
def test_weak_or_personal_passwords_are_refused_with_what_to_do(password: str, words: str) -> None:
    """Common passwords, keyboard walks, repeats, digits, the service's name and the person's own email or name are
    refused; the message names the field, what is wrong and what to do instead."""
    with pytest.raises(InvalidInput) as caught:
        check_password(password, email=EMAIL, name=NAME)
    assert caught.value.field == "password"
    assert words in caught.value.message
    assert "three or four unrelated words" in caught.value.message


@pytest.mark.parametrize(
    "password",
    ["violet tandem orchard", "correct horse battery", DEMO_PASSWORD, "Zq7#mB2!pLx9wR", "x" * 3 + "7Kp!" * 20],
)
def test_strong_passwords_pass(password: str) -> None:
    """Passphrases of unrelated words and random strings pass (also beyond the 72 characters zxcvbn reads)."""
    assert check_password(password, email=EMAIL, name=NAME) == password


def test_the_field_name_is_the_callers() -> None:
    """A form whose field is called new_password gets messages about new_password."""
    with pytest.raises(InvalidInput, match="^new_password is too easy") as caught:
        check_password("password1234", field="new_password")
    assert caught.value.field == "new_password"


def test_concurrent_checks_do_not_see_each_others_personal_words() -> None:
    """zxcvbn keeps the user inputs in a module-level dictionary between its steps; calsync serializes its calls so
    a person's own name (here in l33t spelling, which only zxcvbn recognises) is never judged against another
    request's words. Without the lock, about half of these are accepted."""
    words = ["zebraquartzlantern", "mossyharborpickle", "velvetcactusorbit", "amberfjordwhistle"]
    accepted: list[str] = []

    def check(word: str) -> None:
        own = word.replace("a", "4").replace("e", "3").replace("o", "0") + "!"
        for _ in range(100):
            try:
                check_password(own, email="someone@example.org", name=word)
                accepted.append(own)
            except InvalidInput:
                pass

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, so a race shows
    try:
        threads = [threading.Thread(target=check, args=(word,)) for word in words]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sys.setswitchinterval(previous)
    assert accepted == []
