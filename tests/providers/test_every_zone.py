"""Every zone calsync accepts reaches both providers (issue 13): an entry in each one, written in batches to the
sandbox, is taken, and lands at the instant calsync computed.

Before: ``posixrules``, ``localtime`` and ``Factory`` were accepted as zones and Graph refused every write of such
an event forever (``TimeZoneNotSupportedException``). The accepted set is ``core.timezones.accepted_zones()``;
Graph gets each zone's CLDR Windows name (``providers.microsoft.entries.graph_zone``), Google the IANA name. The
sandbox resolves names by its own reading of the specifications (Windows names through CLDR, IANA names through
``zoneinfo``), so a zone the mapping missed would be refused here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from calsync.core import timezones
from calsync.core.connection import Provider
from calsync.core.entry import EntryContent, RenderContext, render
from calsync.core.model import RsvpStatus, TimezoneSource
from calsync.providers.base import Written
from calsync.providers.microsoft.entries import graph_zone
from tests.providers.conftest import ProviderEnv
from tests.sync.factories import event

WINTER, SUMMER = dt.datetime(2026, 12, 10, 18, 0), dt.datetime(2026, 7, 10, 18, 0)


def _entry(email: str, event_id: int, zone: str, start: dt.datetime) -> tuple[EntryContent, dt.datetime]:
    span = timezones.resolve_timed(start, start + dt.timedelta(hours=1), zone)
    ev = dataclasses.replace(
        event(event_id, title=zone),
        timezone=zone,
        timezone_source=TimezoneSource.EVENT,
        span=span,
        start_utc=span.start_utc,
        end_utc=span.end_utc,
    )
    ctx = RenderContext("inst1", 7, email, "Olga Organizer", "olga@juno.example", f"https://calsync.test/e/{event_id}")
    content = render(ev, RsvpStatus.ACCEPTED, ctx)
    assert content is not None
    return content, span.start_utc


def _start_instant(env: ProviderEnv, item: dict[str, Any]) -> dt.datetime:
    start = item["start"]
    if env.provider is Provider.GOOGLE:
        return dt.datetime.fromisoformat(start["dateTime"]).astimezone(dt.UTC)
    assert start["timeZone"] == "UTC"  # the sandbox answers Graph reads in UTC without a Prefer header (§3.4)
    return dt.datetime.fromisoformat(start["dateTime"][:26]).replace(tzinfo=dt.UTC)


def test_pseudo_zones_are_not_accepted() -> None:
    accepted = timezones.accepted_zones()
    assert len(accepted) > 500 and {"UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires"} <= accepted
    assert not accepted & {"posixrules", "localtime", "Factory", "posix/Europe/Paris", "right/UTC"}


def test_an_entry_in_every_accepted_zone_is_taken_at_the_right_instant(env: ProviderEnv) -> None:
    email = "ann@example.com"
    grant = env.connect(email)
    token = grant.tokens.access_token
    cal = next(c.id for c in env.providers.calendars(env.provider).list_calendars(token) if c.primary)
    if env.provider is Provider.GOOGLE:  # ~1,200 creates in a minute: the default per-user quota would throttle
        env.emulator.set_quotas(per_user=1_000_000, per_project=1_000_000)
    else:
        env.emulator.set_throttling(requests_per_window=1_000_000)
    zones = sorted(timezones.accepted_zones())
    items = [
        _entry(email, i * 2 + n, zone, start)
        for i, zone in enumerate(zones)
        for n, start in enumerate((WINTER, SUMMER))
    ]
    entries = env.providers.entries(env.provider, grant.account_email)
    results = entries.create_many(token, cal, [(content, 1) for content, _ in items])

    refused = [
        (content.timezone, graph_zone(content.timezone, content.start, content.end), result)
        for (content, _), result in zip(items, results, strict=True)
        if not isinstance(result, Written)
    ]
    assert refused == []
    stored = env.emulator.events(email) if env.provider is Provider.MICROSOFT else env.emulator.events(email, cal)
    by_id = {item["id"]: item for item in stored}
    wrong = [
        (content.timezone, content.start, expected, _start_instant(env, by_id[result.provider_id]))
        for (content, expected), result in zip(items, results, strict=True)
        if isinstance(result, Written) and _start_instant(env, by_id[result.provider_id]) != expected
    ]
    assert wrong == []
