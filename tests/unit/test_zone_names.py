"""Which zone names calsync accepts (issue 13): real IANA zones only, and a refusal that names the obvious fix."""

from __future__ import annotations

import pytest

from calsync.core import timezones as tz
from calsync.errors import InvalidInput


@pytest.mark.parametrize(
    ("name", "fix"),
    [
        ("posix/Europe/Paris", "did you mean 'Europe/Paris'?"),
        ("right/America/New_York", "did you mean 'America/New_York'?"),
        ("europe/paris", "did you mean 'Europe/Paris'?"),
        ("AMERICA/NEW_YORK", "did you mean 'America/New_York'?"),
        ("America/New York", "did you mean 'America/New_York'?"),
        (" Europe/Berlin", "did you mean 'Europe/Berlin'?"),
        ("Europe/Berln", "did you mean 'Europe/Berlin'?"),
        ("posixrules", "file of the system's zone database"),
        ("localtime", "file of the system's zone database"),
        ("Factory", "a placeholder of the zone database"),
        ("EST5EDT", "use 'America/New_York'"),
        ("PST8PDT", "use 'America/Los_Angeles'"),
        ("Antarctica/Troll", "Outlook has no equivalent"),
        ("Mars/Olympus_Mons", "use a name such as 'Europe/Berlin'"),
    ],
)
def test_pseudo_and_misspelt_zones_are_refused_with_the_fix(name: str, fix: str) -> None:
    with pytest.raises(InvalidInput) as err:
        tz.validate_zone(name, field="timezone")
    assert err.value.field == "timezone"
    assert fix in err.value.message and repr(name) in err.value.message


@pytest.mark.parametrize("name", ["UTC", "Etc/GMT+5", "US/Eastern", "Asia/Kolkata", "Asia/Calcutta", "GMT"])
def test_real_zones_and_their_aliases_are_accepted(name: str) -> None:
    assert tz.validate_zone(name) == name


def test_no_suggestion_when_two_zones_are_as_close() -> None:
    """A guess is offered only when it is obvious: never one of several equally likely zones."""
    assert tz.suggest("Europe/Berlin") == "Europe/Berlin"
    assert tz.suggest("Nowhere") is None


def test_aliases_resolve_to_the_zone_they_name() -> None:
    assert tz.canonical("US/Eastern") == "America/New_York"
    assert tz.canonical("Europe/Uzhgorod") == "Europe/Kyiv"
    assert tz.canonical("Europe/Berlin") == "Europe/Berlin"
