"""Calendar -> platform, deletions, Resync, reconnect: the seeds' stories on both providers."""

from __future__ import annotations

from calsync.core.connection import Provider
from calsync.core.model import RsvpStatus
from calsync.services import connections
from tests.engine.conftest import World

A, T, D = RsvpStatus.ACCEPTED, RsvpStatus.TENTATIVE, RsvpStatus.DECLINED


def _accepted_and_synced(world: World, email: str = "ann@example.com") -> int:
    world.connect(email)
    ev = world.event()
    world.rsvp(email, ev, A)
    world.sync()
    return ev


def _poll(world: World) -> None:
    """Make every connection's poll due now (what the poll interval does in production)."""
    from calsync.store.connections import ConnectionRepository

    with world.runtime.db.session() as s:
        repo = ConnectionRepository(s)
        for email, actor in world.people.items():
            rec = repo.active_for_person(actor.person_id)
            if rec is not None:
                repo.mark_due(rec.id, world.ctx.now(), pull=True)
    world.sync()


def test_answer_in_the_calendar_comes_back(world: World) -> None:
    """Tentative in the calendar becomes a tentative RSVP, marked as set by the calendar, with no echo write."""
    ev = _accepted_and_synced(world)
    entry = world.entries("ann@example.com")[0]
    world.answer_in_calendar("ann@example.com", entry, T)
    _poll(world)
    assert world.my_rsvp("ann@example.com", ev) == (T, world.provider.value)
    reports = world.sync()
    assert sum(r.calls for r in reports) == 0  # calsync's own state does not echo back as a change


def test_decline_in_the_calendar_declines_and_removes(world: World) -> None:
    """Google's No declines the RSVP and the entry goes. Outlook's Show as Free is a maybe (docs/sync.md): the RSVP
    becomes tentative, the entry stays, and calsync does not rewrite the person's Free."""
    ev = _accepted_and_synced(world)
    entry = world.entries("ann@example.com")[0]
    if world.provider is Provider.GOOGLE:
        world.answer_in_calendar("ann@example.com", entry, D)
        _poll(world)
        assert world.my_rsvp("ann@example.com", ev) == (D, world.provider.value)
        assert world.entries("ann@example.com") == []
        return
    world.emulator.set_show_as("ann@example.com", entry["id"], "free")
    _poll(world)
    assert world.my_rsvp("ann@example.com", ev) == (T, world.provider.value)
    world.sync()
    [kept] = world.entries("ann@example.com")
    assert kept["id"] == entry["id"] and kept["showAs"] == "free"


def test_deleted_entry_is_not_recreated_until_the_rsvp_changes(world: World) -> None:
    """Deleted in the calendar while accepted: not re-created on edits; an RSVP change brings it back."""
    ev = _accepted_and_synced(world)
    world.delete_in_calendar("ann@example.com", world.entries("ann@example.com")[0])
    _poll(world)
    world.edit(ev, title="Launch party (moved)")
    world.sync()
    _poll(world)
    assert world.entries("ann@example.com") == []
    assert world.my_rsvp("ann@example.com", ev)[0] is A
    world.rsvp("ann@example.com", ev, T)
    world.sync()
    assert world.titles("ann@example.com") == ["Launch party (moved)"]


def test_resync_brings_back_deleted_entries(world: World) -> None:
    """A person's Resync reconciles everything, tombstoned entries included."""
    _accepted_and_synced(world)
    world.delete_in_calendar("ann@example.com", world.entries("ann@example.com")[0])
    _poll(world)
    assert world.entries("ann@example.com") == []
    connections.request_resync(world.runtime.calendar, world.person("ann@example.com"))
    world.sync()
    assert world.titles("ann@example.com") == ["Launch party"]


def test_both_sides_changed_platform_wins(world: World) -> None:
    """Tentative in the calendar and declined in the platform before a sync: the platform's answer holds."""
    ev = _accepted_and_synced(world)
    world.answer_in_calendar("ann@example.com", world.entries("ann@example.com")[0], T)
    world.rsvp("ann@example.com", ev, D)
    _poll(world)
    assert world.my_rsvp("ann@example.com", ev) == (D, "platform")
    assert world.entries("ann@example.com") == []


def test_disconnect_and_reconnect_adopts_without_duplicates(world: World) -> None:
    """Entries left in the calendar at disconnect are adopted on reconnect: still one per event."""
    ev = _accepted_and_synced(world)
    second = world.event("Second")
    world.rsvp("ann@example.com", second, A)
    world.sync()
    connections.disconnect(world.runtime.calendar, world.person("ann@example.com"))
    world.edit(ev, title="Launch party (new room)")
    world.connect("ann@example.com")
    world.sync()
    assert world.titles("ann@example.com") == ["Launch party (new room)", "Second"]


def test_revoked_grant_then_reconnect_zero_duplicates(world: World) -> None:
    """A revoked grant puts the connection in error; after reconnecting, everything is there exactly once."""
    ev = _accepted_and_synced(world)
    if world.provider.value == "google":
        world.emulator.revoke_grants("ann@example.com")
    else:
        world.emulator.revoke("ann@example.com")
    world.rsvp("ann@example.com", world.event("While broken"), A)
    # the access token is still valid for a while: force a refresh
    world.time_passes("ann@example.com", token_expires_at=world.ctx.now())
    world.sync()
    status = connections.my_connection(world.runtime.calendar, world.person("ann@example.com"))
    assert status is not None and status.status.value == "error" and status.need_full_sync
    assert "connect it again" in (status.error_reason or "")
    world.connect("ann@example.com")
    world.sync()
    assert world.titles("ann@example.com") == ["Launch party", "While broken"]
    del ev


def test_target_calendar_change_moves_entries(world: World) -> None:
    """Choosing a dedicated calendar moves the entries there; the primary calendar no longer holds them."""
    _accepted_and_synced(world)
    conn = connections.set_target(world.runtime.calendar, world.person("ann@example.com"), create_dedicated=True)
    world.sync()
    assert world.entries("ann@example.com") == []
    moved = world.entries_in("ann@example.com", conn.target_calendar_id)
    assert [e.get("summary") or e.get("subject") for e in moved] == ["Launch party"]


def test_entry_deleted_just_before_a_target_change_stays_deleted(world: World) -> None:
    """The person deletes an entry, then picks another calendar before calsync saw the deletion: the move lists
    the old calendar first, so the deletion counts and the entry does not come back there (seed 385)."""
    ev = _accepted_and_synced(world)
    kept = world.event("Kept")
    world.rsvp("ann@example.com", kept, A)
    world.sync()
    deleted = next(e for e in world.entries("ann@example.com") if (e.get("summary") or e.get("subject")) != "Kept")
    world.delete_in_calendar("ann@example.com", deleted)
    conn = connections.set_target(world.runtime.calendar, world.person("ann@example.com"), create_dedicated=True)
    world.sync()
    assert world.entries("ann@example.com") == []
    moved = world.entries_in("ann@example.com", conn.target_calendar_id)
    assert [e.get("summary") or e.get("subject") for e in moved] == ["Kept"]
    assert world.my_rsvp("ann@example.com", ev)[0] is A  # a deletion is not a decline


def test_answer_given_just_before_a_target_change_moves_with_the_entry(world: World) -> None:
    """An answer given in the old calendar before the move is read when the old calendar is listed: it reaches
    the platform and the moved entry shows it."""
    ev = _accepted_and_synced(world)
    world.answer_in_calendar("ann@example.com", world.entries("ann@example.com")[0], T)
    connections.set_target(world.runtime.calendar, world.person("ann@example.com"), create_dedicated=True)
    world.sync()
    assert world.my_rsvp("ann@example.com", ev) == (T, world.provider.value)


def test_deletion_then_an_rsvp_change_that_needs_no_write_brings_the_entry_back(world: World) -> None:
    """Deleted in the calendar, then declined and accepted again in the platform before calsync looked: the
    round writes nothing (same content), and when the deletion is seen it predates the RSVP change, so the
    entry is created again (seed 1865). Without the change it would stay deleted (the tombstone test above)."""
    ev = _accepted_and_synced(world)
    world.delete_in_calendar("ann@example.com", world.entries("ann@example.com")[0])
    world.rsvp("ann@example.com", ev, D)
    world.rsvp("ann@example.com", ev, A)
    reports = world.sync()
    assert sum(r.calls for r in reports) == 0  # nothing the calendar shows changed, and no pull was due
    _poll(world)
    assert world.titles("ann@example.com") == ["Launch party"]


def test_far_future_entry_changed_in_the_calendar_is_not_taken_for_deleted(world: World) -> None:
    """An event three years ahead lies outside Graph's delta window, where a change is reported as a removal
    (provider-facts §3.5): calsync reads the entry before believing it, so the answer comes back and the entry
    stays. (Google reports such changes normally; the same story holds.)"""
    world.connect("ann@example.com")
    ev = world.event("Far ahead", days=3 * 365)
    world.rsvp("ann@example.com", ev, A)
    world.sync()
    world.answer_in_calendar("ann@example.com", world.entries("ann@example.com")[0], T)
    _poll(world)
    assert world.my_rsvp("ann@example.com", ev) == (T, world.provider.value)
    assert world.titles("ann@example.com") == ["Far ahead"]
    world.rsvp("ann@example.com", ev, A)  # and it is still calsync's: a platform change updates it in place
    world.sync()
    assert world.titles("ann@example.com") == ["Far ahead"]


def test_full_reconcile_removes_many_duplicates_in_batches(world: World) -> None:
    """Four stray copies of an entry (a restored backup, lost creates elsewhere) are found by the next full
    reconcile and removed (in a provider batch: three or more), keeping the one calsync maps."""
    from calsync.core.entry import RenderContext, render
    from calsync.store.connections import ConnectionRepository
    from calsync.store.events import EventRepository

    ev = _accepted_and_synced(world)
    engine = world.runtime.engine
    with world.runtime.db.session(write=False) as s:
        conn = ConnectionRepository(s).active_for_person(world.person("ann@example.com").person_id)
        assert conn is not None
        event = EventRepository(s).get(conn.organization_id, ev)
    assert event is not None
    token, _ = world.runtime.tokens.access_token(conn.id)
    ctx = RenderContext(engine.installation_id, conn.id, "ann@example.com", "Olga Organizer", "olga@juno.example", "x")
    content = render(event, A, ctx)
    assert content is not None and conn.target_calendar_id is not None
    port = world.runtime.providers.entries(world.provider, "ann@example.com")
    for generation in range(2, 6):
        port.create(token, conn.target_calendar_id, content, generation)
    assert len(world.entries("ann@example.com")) == 5
    connections.request_resync(world.runtime.calendar, world.person("ann@example.com"))
    reports = world.sync()
    assert len(world.entries("ann@example.com")) == 1
    assert sum(r.tally.duplicates_removed for r in reports) == 4
