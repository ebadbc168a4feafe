"""What the calendar shows (issue 16): ``PUT /me/calendar/display`` per connection, marking every entry so the next
round updates it, and refusing an unknown choice with a message that names the choices."""

from __future__ import annotations

from calsync.core.connection import Provider
from calsync.core.plan import Synced
from calsync.store.connections import ConnectionRepository
from calsync.store.entries import EntryRepository
from tests.connections.conftest import World


def _connection_id(world: World) -> int:
    with world.runtime.db.session(write=False) as s:
        record = ConnectionRepository(s).active_for_person(world.people["ann"].id)
    assert record is not None
    return record.id


def test_choosing_what_the_calendar_shows_marks_every_entry(world: World, provider: Provider) -> None:
    """Full is the default; choosing busy is stored, shown by GET, and marks the entries for an update; choosing
    the same again changes nothing."""
    world.connect("ann", provider)
    assert world.status("ann")["display"] == "full"
    cid = _connection_id(world)
    now = world.runtime.service.now()
    event_ids = []
    for n in range(2):
        body = {"title": f"Talk {n}", "start": "2026-12-10T18:00:00", "end": "2026-12-10T20:00:00"}
        created = world.browser().post("/api/v1/events", json=body, headers=world.h("ada"))
        assert created.status_code == 201, created.text
        event_ids.append(int(created.json()["id"]))
    with world.runtime.db.session() as s:
        for event_id in event_ids:
            EntryRepository(s).save_synced(
                cid, event_id, Synced(provider_id=f"p{event_id}", calendar_id="c"), now, clean_seq=0
            )
    with world.runtime.db.session(write=False) as s:
        assert not any(e.dirty for e in EntryRepository(s).for_connection(cid))

    r = world.browser().put("/api/v1/me/calendar/display", json={"display": "busy"}, headers=world.h("ann"))
    assert r.status_code == 200, r.text
    assert r.json()["display"] == "busy" and world.status("ann")["display"] == "busy"
    with world.runtime.db.session(write=False) as s:
        entries = EntryRepository(s).for_connection(cid)
        seqs = {e.event_id: e.change_seq for e in entries}
    assert len(entries) == 2 and all(e.dirty for e in entries), "every entry is due for an update"

    again = world.browser().put("/api/v1/me/calendar/display", json={"display": "busy"}, headers=world.h("ann"))
    assert again.status_code == 200
    with world.runtime.db.session(write=False) as s:
        assert {e.event_id: e.change_seq for e in EntryRepository(s).for_connection(cid)} == seqs, "a no-op"


def test_an_unknown_choice_is_refused(world: World, provider: Provider) -> None:
    """422 naming the field and the choices; the stored choice is unchanged."""
    world.connect("ann", provider)
    r = world.browser().put("/api/v1/me/calendar/display", json={"display": "everything"}, headers=world.h("ann"))
    assert r.status_code == 422, r.text
    assert "display" in r.text and "busy" in r.text
    assert world.status("ann")["display"] == "full"


def test_without_a_connection_there_is_nothing_to_choose(world: World) -> None:
    """404 with what to do first."""
    r = world.browser().put("/api/v1/me/calendar/display", json={"display": "busy"}, headers=world.h("ann"))
    assert r.status_code == 404 and "connect" in r.text.lower()
