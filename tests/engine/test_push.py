"""Platform -> calendar: RSVPs and event changes become exactly one entry, kept right, on both providers."""

from __future__ import annotations

from calsync.core.model import RsvpStatus
from tests.engine.conftest import World

A, T, D = RsvpStatus.ACCEPTED, RsvpStatus.TENTATIVE, RsvpStatus.DECLINED


def test_accept_creates_one_entry_and_tentative_shows_tentative(world: World) -> None:
    """Accepting puts one entry in the calendar; switching to tentative updates the same entry."""
    world.connect("ann@example.com")
    ev = world.event()
    world.rsvp("ann@example.com", ev, A)
    world.sync()
    assert world.titles("ann@example.com") == ["Launch party"]
    first = world.entries("ann@example.com")[0]
    world.rsvp("ann@example.com", ev, T)
    world.sync()
    entries = world.entries("ann@example.com")
    assert [e["id"] for e in entries] == [first["id"]]
    if world.provider.value == "google":
        assert entries[0]["attendees"][0]["responseStatus"] == "tentative"
    else:
        assert entries[0]["showAs"] == "tentative"


def test_event_edited_five_times_gives_one_updated_entry(world: World) -> None:
    """Five edits to the event leave one entry, showing the last title, updated in place."""
    world.connect("ann@example.com")
    ev = world.event()
    world.rsvp("ann@example.com", ev, A)
    world.sync()
    entry_id = world.entries("ann@example.com")[0]["id"]
    for i in range(5):
        world.edit(ev, title=f"Launch party v{i + 1}")
        world.sync()
    entries = world.entries("ann@example.com")
    assert [e["id"] for e in entries] == [entry_id]
    assert world.titles("ann@example.com") == ["Launch party v5"]


def test_decline_and_cancel_remove_the_entry(world: World) -> None:
    """Declining removes the entry; a cancelled event's entry goes too."""
    world.connect("ann@example.com")
    world.connect("bob@example.com")
    ev = world.event()
    world.rsvp("ann@example.com", ev, A)
    world.rsvp("bob@example.com", ev, A)
    world.sync()
    assert world.titles("ann@example.com") == ["Launch party"] == world.titles("bob@example.com")
    world.rsvp("ann@example.com", ev, D)
    world.sync()
    assert world.entries("ann@example.com") == []
    world.cancel(ev)
    world.sync()
    assert world.entries("bob@example.com") == []


def test_no_op_change_costs_no_call(world: World) -> None:
    """An edit that changes nothing the calendar shows makes a round with zero provider calls."""
    world.connect("ann@example.com")
    ev = world.event()
    world.rsvp("ann@example.com", ev, A)
    world.sync()
    world.edit(ev, title="Launch party")  # same title: no change at all
    world.rsvp("ann@example.com", ev, A)  # same answer
    reports = world.sync()
    assert sum(r.calls for r in reports) == 0


def test_connect_backfills_upcoming_accepted_events(world: World) -> None:
    """Events accepted before connecting are added when the calendar is connected (tentative too)."""
    a, b, c = world.event("A"), world.event("B"), world.event("C")
    world.rsvp("ann@example.com", a, A)
    world.rsvp("ann@example.com", b, T)
    world.rsvp("ann@example.com", c, D)
    world.connect("ann@example.com")
    world.sync()
    assert world.titles("ann@example.com") == ["A", "B"]


def test_rounds_record_the_wait_from_a_change_to_the_calendar(world: World) -> None:
    """A round that writes an entry logs its lag (change -> write); the entry's mark is cleared; a no-op logs none."""
    from calsync.store.connections import ConnectionRepository
    from calsync.store.entries import EntryRepository

    world.connect("ann@example.com")
    world.sync()
    ev = world.event()
    world.rsvp("ann@example.com", ev, A)
    world.sync()
    with world.runtime.db.session(write=False) as s:
        conn = ConnectionRepository(s).active_for_person(world.person("ann@example.com").person_id)
        assert conn is not None
        rounds = [line for line in ConnectionRepository(s).recent_log(conn.id) if line.action == "sync"]
        entry = EntryRepository(s).get(conn.id, ev)
    assert rounds and rounds[0].lag_ms is not None and 0 <= rounds[0].lag_ms < 60_000
    assert "longest wait from a change to the calendar" in rounds[0].message
    assert entry is not None and entry.dirty_since is None


def test_backfill_sends_its_creates_in_provider_batches(world: World) -> None:
    """25 events accepted before connecting: the backfill sends them as provider batches (Google 50 calls per
    request, Graph 20), one part the provider throttles (429) is sent again on its own, and every entry exists
    exactly once. Quota counts every call in a batch (the round's call count includes all 25 creates)."""
    import math

    events = [world.event(f"E{i:02d}") for i in range(25)]
    for ev in events:
        world.rsvp("ann@example.com", ev, A)
    world.connect("ann@example.com")
    faults = getattr(world.sandbox.sandbox.faults, world.provider.value)
    create_path = "/events/import" if world.provider.value == "google" else "/events"
    faults.fail_next(429, method="POST", path_contains=create_path, retry_after=0)
    reports = world.sync()
    assert faults.one_shots == []  # the throttle was served to one part of a batch
    assert world.titles("ann@example.com") == [f"E{i:02d}" for i in range(25)]
    limit = world.runtime.providers.entries(world.provider, "ann@example.com").BATCH_LIMIT
    assert sum(r.batches for r in reports) == math.ceil(25 / limit)
    assert sum(r.batched_creates for r in reports) == 25
    assert sum(r.tally.created for r in reports) == 25
    assert sum(r.calls for r in reports) >= 25 + 1  # every batched call, plus the throttled one sent again
    assert all(r.tally.created == 0 for r in world.sync())  # nothing left to do: no second copy of anything


def test_a_batch_clears_only_marks_it_read(world: World) -> None:
    """A batch's records clear the entries' marks in the same UPDATE (a CASE on change_seq, SQLite and PostgreSQL);
    an entry marked again after the round read it keeps its mark, so that change is not lost."""
    import datetime as dt

    from calsync.store.connections import ConnectionRepository
    from calsync.store.entries import EntryRepository

    world.connect("ann@example.com")
    events = [world.event(f"E{i}") for i in range(3)]
    with world.runtime.db.session() as s:
        conn = ConnectionRepository(s).active_for_person(world.person("ann@example.com").person_id)
        assert conn is not None
        EntryRepository(s).mark_dirty(conn.id, events, dt.datetime.now(dt.UTC))
    with world.runtime.db.session(write=False) as s:
        read = {e.event_id: e for e in EntryRepository(s).for_connection(conn.id) if e.event_id in events}
    with world.runtime.db.session() as s:
        EntryRepository(s).mark_dirty(conn.id, [events[0]], dt.datetime.now(dt.UTC))  # marked after the read
    with world.runtime.db.session() as s:
        legs = {eid: record.synced for eid, record in read.items()}
        seen = {eid: record.change_seq for eid, record in read.items()}
        EntryRepository(s).save_synced_many(conn.id, legs, dt.datetime.now(dt.UTC), seen=seen)
    with world.runtime.db.session(write=False) as s:
        dirty = {e.event_id for e in EntryRepository(s).for_connection(conn.id, dirty_only=True)}
    assert dirty & set(events) == {events[0]}
