"""The entries port, one suite for both providers, over HTTPS against the sandbox.

It shows how calsync's entries look at each provider and that what the engine relies on holds: idempotent
creates, look-up by key, conditional updates, the person's answer and deletion coming back through pull.
"""

from __future__ import annotations

import pytest

from calsync.core.connection import Provider
from calsync.core.entry import render
from calsync.core.model import RsvpStatus
from calsync.core.plan import RemoteState
from calsync.errors import ProviderConflict, ProviderSyncReset
from calsync.providers.base import Grant
from tests.providers.conftest import ProviderEnv, now
from tests.sync.factories import event

A, T, D = RsvpStatus.ACCEPTED, RsvpStatus.TENTATIVE, RsvpStatus.DECLINED


def content(email: str, status: RsvpStatus = A, *, event_id: int = 1, title: str = "Launch party"):
    from calsync.core.entry import RenderContext

    ctx = RenderContext("inst1", 7, email, "Olga Organizer", "olga@juno.example", "https://calsync.test/events/1")
    c = render(event(event_id, title=title), status, ctx)
    assert c is not None
    return c


@pytest.fixture
def grant(env: ProviderEnv) -> Grant:
    return env.connect("ann@example.com")


def calendar_id(env: ProviderEnv, grant: Grant) -> str:
    cals = env.providers.calendars(env.provider).list_calendars(grant.tokens.access_token)
    return next(c.id for c in cals if c.primary)


def person_answers(env: ProviderEnv, grant: Grant, cal: str, provider_id: str, status: RsvpStatus) -> None:
    """The person answers in their calendar app (Google RSVP buttons; Outlook 'Show as')."""
    if env.provider is Provider.GOOGLE:
        env.emulator.respond("ann@example.com", provider_id, status.value, calendar_id=cal)
    else:
        show_as = {A: "busy", T: "tentative", D: "free"}[status]
        env.providers.graph_rest.call(
            "PATCH", f"/me/events/{provider_id}", grant.tokens.access_token, json={"showAs": show_as}
        )


def person_deletes(env: ProviderEnv, cal: str, provider_id: str) -> None:
    if env.provider is Provider.GOOGLE:
        env.emulator.delete_event("ann@example.com", provider_id, calendar_id=cal)
    else:
        env.emulator.delete_as("ann@example.com", provider_id)


def test_entry_round_trip(env: ProviderEnv, grant: Grant) -> None:
    """Create, find by key, list by connection, update in place (one entry throughout), then delete twice."""
    token, cal = grant.tokens.access_token, calendar_id(env, grant)
    entries = env.providers.entries(env.provider, grant.account_email)
    c = content(grant.account_email)
    written = entries.create(token, cal, c, 1)
    found = entries.lookup(token, cal, c.key)
    assert [f.provider_id for f in found] == [written.provider_id]
    assert found[0].response is A
    listed = entries.list_connection(token, cal, "inst1.7")
    assert [x.provider_id for x in listed] == [written.provider_id]
    moved = content(grant.account_email, T, title="Launch party (room B)")
    updated = entries.update(token, cal, written.provider_id, moved, 1, written.etag)
    assert updated.provider_id == written.provider_id and updated.etag != written.etag
    again = entries.lookup(token, cal, c.key)
    assert len(again) == 1 and again[0].response is T
    entries.delete(token, cal, written.provider_id)
    entries.delete(token, cal, written.provider_id)  # already gone counts as done
    assert entries.lookup(token, cal, c.key) == []


def test_same_create_twice_gives_one_entry(env: ProviderEnv, grant: Grant) -> None:
    """A retried create (same key, same generation) adopts the first entry instead of adding a second."""
    token, cal = grant.tokens.access_token, calendar_id(env, grant)
    entries = env.providers.entries(env.provider, grant.account_email)
    c = content(grant.account_email)
    first = entries.create(token, cal, c, 1)
    second = entries.create(token, cal, c, 1)
    assert second.provider_id == first.provider_id
    assert len(entries.lookup(token, cal, c.key)) == 1


def test_stale_etag_is_a_conflict(env: ProviderEnv, grant: Grant) -> None:
    """An update conditional on an etag the entry no longer has is refused (412), never applied blindly."""
    token, cal = grant.tokens.access_token, calendar_id(env, grant)
    entries = env.providers.entries(env.provider, grant.account_email)
    w = entries.create(token, cal, content(grant.account_email), 1)
    entries.update(token, cal, w.provider_id, content(grant.account_email, title="v2"), 1, w.etag)
    with pytest.raises(ProviderConflict):
        entries.update(token, cal, w.provider_id, content(grant.account_email, title="v3"), 1, w.etag)


def test_pull_sees_the_persons_answer_and_deletion(env: ProviderEnv, grant: Grant) -> None:
    """After a first pull, the next one reports the answer given in the calendar, then the deletion."""
    token, cal = grant.tokens.access_token, calendar_id(env, grant)
    entries = env.providers.entries(env.provider, grant.account_email)
    w = entries.create(token, cal, content(grant.account_email), 1)
    first = entries.pull(token, cal, None, now())
    assert first.cursor
    person_answers(env, grant, cal, w.provider_id, T)
    second = entries.pull(token, cal, first.cursor, now())
    mine = [r for pid, r in second.changes if pid == w.provider_id]
    assert mine and mine[-1].state is RemoteState.PRESENT and mine[-1].response is T
    person_deletes(env, cal, w.provider_id)
    third = entries.pull(token, cal, second.cursor, now())
    gone = [r for pid, r in third.changes if pid == w.provider_id]
    assert gone and gone[-1].state is RemoteState.ABSENT


def test_declining_in_the_calendar_reads_as_declined(env: ProviderEnv, grant: Grant) -> None:
    """'No' in Google / 'Free' in Outlook comes back as declined."""
    token, cal = grant.tokens.access_token, calendar_id(env, grant)
    entries = env.providers.entries(env.provider, grant.account_email)
    w = entries.create(token, cal, content(grant.account_email), 1)
    cursor = entries.pull(token, cal, None, now()).cursor
    person_answers(env, grant, cal, w.provider_id, D)
    changes = entries.pull(token, cal, cursor, now()).changes
    mine = [r for pid, r in changes if pid == w.provider_id]
    assert mine and (mine[-1].response is D or mine[-1].state is RemoteState.ABSENT)


def test_expired_cursor_asks_for_a_full_sync(env: ProviderEnv, grant: Grant) -> None:
    """A sync token / delta link the provider expired surfaces as ProviderSyncReset."""
    token, cal = grant.tokens.access_token, calendar_id(env, grant)
    entries = env.providers.entries(env.provider, grant.account_email)
    cursor = entries.pull(token, cal, None, now()).cursor
    if env.provider is Provider.GOOGLE:
        env.emulator.expire_sync_tokens()
    else:
        env.emulator.expire_delta_tokens()
    with pytest.raises(ProviderSyncReset):
        entries.pull(token, cal, cursor, now())


def test_wall_clock_time_and_zone_are_kept(env: ProviderEnv, grant: Grant) -> None:
    """A timed entry keeps its wall-clock time in the event's zone (Windows name for Graph)."""
    token, cal = grant.tokens.access_token, calendar_id(env, grant)
    entries = env.providers.entries(env.provider, grant.account_email)
    w = entries.create(token, cal, content(grant.account_email), 1)
    if env.provider is Provider.GOOGLE:
        item = next(e for e in env.emulator.events("ann@example.com", cal) if e["id"] == w.provider_id)
        assert item["start"] == {"dateTime": "2026-12-10T18:00:00", "timeZone": "Europe/Berlin"} or (
            item["start"]["timeZone"] == "Europe/Berlin" and item["start"]["dateTime"].startswith("2026-12-10T18:00")
        )
        assert item["organizer"]["email"] == "olga@juno.example"
    else:
        r = env.providers.graph_rest.call(
            "GET",
            f"/me/events/{w.provider_id}",
            token,
            headers={"Prefer": 'outlook.timezone="W. Europe Standard Time"'},
        )
        start = r.json()["start"]
        assert start["dateTime"].startswith("2026-12-10T18:00:00") and start["timeZone"] == "W. Europe Standard Time"
