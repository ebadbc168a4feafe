"""The entries port, one suite for both providers, over HTTPS against the sandbox.

It shows how calsync's entries look at each provider and that what the engine relies on holds: idempotent
creates, look-up by key, conditional updates, the person's answer and deletion coming back through pull.
"""

from __future__ import annotations

import datetime as dt

import pytest

from calsync.core.connection import Provider
from calsync.core.entry import render
from calsync.core.model import RsvpStatus
from calsync.core.plan import RemoteState
from calsync.errors import ProviderConflict, ProviderSyncReset, ProviderTransient
from calsync.providers.base import Grant, Written
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
        show_as = {A: "busy", T: "tentative", D: "free"}[status]  # Free reads back as tentative (docs/sync.md)
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
    # The fingerprint calsync stored when it wrote the entry reads back (listings and a single read): an adopted
    # copy is judged against what calsync wrote on it.
    assert again[0].written == moved.fingerprint() != c.fingerprint()
    assert entries.get(token, cal, written.provider_id).written == moved.fingerprint()
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


def test_no_in_google_reads_as_declined_and_free_in_outlook_as_maybe(env: ProviderEnv, grant: Grant) -> None:
    """'No' in Google comes back as declined; 'Free' in Outlook as tentative ("I may drop in", not "no":
    docs/sync.md), the answer a person marking an event Free means."""
    token, cal = grant.tokens.access_token, calendar_id(env, grant)
    entries = env.providers.entries(env.provider, grant.account_email)
    w = entries.create(token, cal, content(grant.account_email), 1)
    cursor = entries.pull(token, cal, None, now()).cursor
    if env.provider is Provider.GOOGLE:
        person_answers(env, grant, cal, w.provider_id, D)
        expected = D
    else:
        env.providers.graph_rest.call("PATCH", f"/me/events/{w.provider_id}", token, json={"showAs": "free"})
        expected = T
    changes = entries.pull(token, cal, cursor, now()).changes
    mine = [r for pid, r in changes if pid == w.provider_id]
    assert mine and (mine[-1].response is expected or mine[-1].state is RemoteState.ABSENT)


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


def faults(env: ProviderEnv):  # noqa: ANN201
    return getattr(env.sandbox.sandbox.faults, env.provider.value)


def test_get_reads_the_entry_then_its_deletion(env: ProviderEnv, grant: Grant) -> None:
    """get answers PRESENT with the etag and the person's answer, then ABSENT once they delete it (Google keeps
    the event as ``cancelled``, Graph answers 404)."""
    token, cal = grant.tokens.access_token, calendar_id(env, grant)
    entries = env.providers.entries(env.provider, grant.account_email)
    w = entries.create(token, cal, content(grant.account_email), 1)
    now_ = entries.get(token, cal, w.provider_id)
    assert (now_.state, now_.provider_id, now_.etag, now_.response) == (RemoteState.PRESENT, w.provider_id, w.etag, A)
    person_answers(env, grant, cal, w.provider_id, T)
    answered = entries.get(token, cal, w.provider_id)
    assert answered.response is T and answered.etag != w.etag
    person_deletes(env, cal, w.provider_id)
    gone = entries.get(token, cal, w.provider_id)
    assert gone.state is RemoteState.ABSENT and gone.provider_id == w.provider_id


def test_create_many_mixed_outcomes_in_input_order(env: ProviderEnv, grant: Grant) -> None:
    """One batch: a part throttled (429, returned not raised), a part whose entry exists (409 /
    ErrorDuplicateTransactionId, adopted) and a new one; each result sits at its input's position."""
    token, cal = grant.tokens.access_token, calendar_id(env, grant)
    entries = env.providers.entries(env.provider, grant.account_email)
    throttled, existing, new = (content(grant.account_email, event_id=i, title=f"E{i}") for i in (1, 2, 3))
    first = entries.create(token, cal, existing, 1)
    create_path = "/events/import" if env.provider is Provider.GOOGLE else "/events"
    faults(env).fail_next(429, method="POST", path_contains=create_path, retry_after=0)
    if env.provider is Provider.GOOGLE:  # a re-import upserts, so Google's 409 is injected (§1.3)
        faults(env).fail_next(409, method="POST", path_contains=create_path)
    results = entries.create_many(token, cal, [(throttled, 1), (existing, 1), (new, 1)])
    assert isinstance(results[0], ProviderTransient) and results[0].status == 429
    assert isinstance(results[1], Written) and results[1].provider_id == first.provider_id
    assert isinstance(results[2], Written)
    assert [e.provider_id for e in entries.lookup(token, cal, new.key)] == [results[2].provider_id]
    assert len(entries.lookup(token, cal, existing.key)) == 1
    assert entries.lookup(token, cal, throttled.key) == []
    retried = entries.create(token, cal, throttled, 1)  # the caller retries the throttled item singly
    assert [e.provider_id for e in entries.lookup(token, cal, throttled.key)] == [retried.provider_id]


def test_create_many_chunks_and_keeps_order(env: ProviderEnv, grant: Grant) -> None:
    """More items than one batch holds: BATCH_LIMIT per request, every result at its item's position."""
    token, cal = grant.tokens.access_token, calendar_id(env, grant)
    entries = env.providers.entries(env.provider, grant.account_email)
    rest = env.providers.google_rest if env.provider is Provider.GOOGLE else env.providers.graph_rest
    items = [(content(grant.account_email, event_id=i, title=f"E{i}"), 1) for i in range(entries.BATCH_LIMIT + 3)]
    sent = rest.requests_sent
    results = entries.create_many(token, cal, items)
    assert rest.requests_sent - sent == 2
    for (c, _), result in zip(items, results, strict=True):
        assert isinstance(result, Written)
        assert [e.provider_id for e in entries.lookup(token, cal, c.key)] == [result.provider_id]


def test_delete_many_mixed_outcomes(env: ProviderEnv, grant: Grant) -> None:
    """One batch: deleted (True), already gone (False), throttled (returned 429, the entry stays)."""
    token, cal = grant.tokens.access_token, calendar_id(env, grant)
    entries = env.providers.entries(env.provider, grant.account_email)
    cs = [content(grant.account_email, event_id=i, title=f"E{i}") for i in (1, 2, 3)]
    ws = [entries.create(token, cal, c, 1) for c in cs]
    entries.delete(token, cal, ws[1].provider_id)
    faults(env).fail_next(429, method="DELETE", path_contains=ws[2].provider_id, retry_after=0)
    results = entries.delete_many(token, cal, [w.provider_id for w in ws])
    assert results[:2] == [True, False]
    assert isinstance(results[2], ProviderTransient) and results[2].status == 429
    assert entries.lookup(token, cal, cs[0].key) == [] and len(entries.lookup(token, cal, cs[2].key)) == 1


def test_deleted_copy_is_found_only_when_deleted(env: ProviderEnv, grant: Grant) -> None:
    """Google finds the copy the person deleted under this key and generation (a live copy is not deleted);
    Graph cannot tell and answers None."""
    token, cal = grant.tokens.access_token, calendar_id(env, grant)
    entries = env.providers.entries(env.provider, grant.account_email)
    c = content(grant.account_email)
    assert entries.deleted_copy(token, cal, c.key, 1) is None
    w = entries.create(token, cal, c, 1)
    assert entries.deleted_copy(token, cal, c.key, 1) is None
    person_deletes(env, cal, w.provider_id)
    expected = w.provider_id if env.provider is Provider.GOOGLE else None
    assert entries.deleted_copy(token, cal, c.key, 1) == expected
    assert entries.deleted_copy(token, cal, c.key, 2) is None


def test_removals_are_unconfirmed_on_graph(env: ProviderEnv, grant: Grant) -> None:
    """A deletion pulled from Graph is ABSENT and unconfirmed; so is an entry moved past the 400-day window,
    which get shows is still there. Google's cancellations are deletions: nothing is unconfirmed."""
    token, cal = grant.tokens.access_token, calendar_id(env, grant)
    entries = env.providers.entries(env.provider, grant.account_email)
    gone = entries.create(token, cal, content(grant.account_email, event_id=1), 1)
    cursor = entries.pull(token, cal, None, now()).cursor
    person_deletes(env, cal, gone.provider_id)
    page = entries.pull(token, cal, cursor, now())
    assert [r.state for pid, r in page.changes if pid == gone.provider_id][-1] is RemoteState.ABSENT
    if env.provider is Provider.GOOGLE:
        assert page.unconfirmed == frozenset()
        return
    assert page.unconfirmed == {gone.provider_id}
    moved = entries.create(token, cal, content(grant.account_email, event_id=2), 1)
    cursor = entries.pull(token, cal, page.cursor, now()).cursor
    far = (now() + dt.timedelta(days=500)).strftime("%Y-%m-%dT10:00:00")
    far_end = (now() + dt.timedelta(days=500)).strftime("%Y-%m-%dT11:00:00")
    env.providers.graph_rest.call(  # the person moves it 500 days ahead in Outlook
        "PATCH",
        f"/me/events/{moved.provider_id}",
        token,
        json={"start": {"dateTime": far, "timeZone": "UTC"}, "end": {"dateTime": far_end, "timeZone": "UTC"}},
    )
    page = entries.pull(token, cal, cursor, now())
    assert [r.state for pid, r in page.changes if pid == moved.provider_id][-1] is RemoteState.ABSENT
    assert moved.provider_id in page.unconfirmed
    assert entries.get(token, cal, moved.provider_id).state is RemoteState.PRESENT


def test_google_secondary_calendar_shows_no_answer(env: ProviderEnv, grant: Grant) -> None:
    """In a secondary Google calendar no attendee is ``self``: listings, get and pull read no answer (None),
    never calsync's own write of the attendee's status."""
    if env.provider is not Provider.GOOGLE:
        pytest.skip("Google only: Outlook entries carry the answer as Show as, in any calendar")
    token = grant.tokens.access_token
    cal = env.providers.calendars(env.provider).create_calendar(token, "calsync", "Europe/Berlin").id
    entries = env.providers.entries(env.provider, grant.account_email)
    w = entries.create(token, cal, content(grant.account_email, A), 1)
    assert [e.response for e in entries.lookup(token, cal, content(grant.account_email).key)] == [None]
    assert entries.get(token, cal, w.provider_id).response is None
    pulled = [r for pid, r in entries.pull(token, cal, None, now()).changes if pid == w.provider_id]
    assert pulled and pulled[-1].state is RemoteState.PRESENT and pulled[-1].response is None
    batched = entries.create_many(token, cal, [(content(grant.account_email, event_id=5), 1)])
    assert isinstance(batched[0], Written) and entries.get(token, cal, batched[0].provider_id).response is None
