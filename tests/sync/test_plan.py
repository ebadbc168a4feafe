"""The decision table, case by case: each test names the branch of calsync.core.plan.plan it covers."""

from __future__ import annotations

from calsync.core.model import EventStatus, RsvpStatus
from calsync.core.plan import (
    AdoptCalendarAnswer,
    ClearTombstone,
    Create,
    Delete,
    ListedEntry,
    Lookup,
    MarkInSync,
    Platform,
    RecordRemote,
    Remote,
    RemoteState,
    SetTombstone,
    Synced,
    Update,
    plan,
    plan_reconcile,
)
from tests.sync.factories import CONN, INSTALL, event, key, renderer

A, T, D, N = RsvpStatus.ACCEPTED, RsvpStatus.TENTATIVE, RsvpStatus.DECLINED, RsvpStatus.NEEDS_ACTION
CAL = "primary"


def synced_for(status: RsvpStatus, version: int, **kw: object) -> Synced:
    """A last-synced leg that matches what an accepted/tentative RSVP at ``version`` rendered to."""
    content = renderer(event())(status)
    assert content is not None
    base = dict(
        provider_id="g1",
        calendar_id=CAL,
        etag='"e1"',
        fingerprint=content.fingerprint(),
        response=status,
        rsvp_version=version,
        generation=1,
    )
    base.update(kw)
    return Synced(**base)  # type: ignore[arg-type]


def run(
    platform: Platform,
    synced: Synced | None,
    remote: Remote = Remote(),
    *,
    ev=None,
    resync: bool = False,
    target: str = CAL,
) -> list[object]:
    return list(
        plan(platform, synced, remote, renderer(ev or event()), key=key(), target_calendar_id=target, resync=resync)
    )


def kinds(actions: list[object]) -> list[str]:
    return [type(a).__name__ for a in actions]


def test_first_accept_creates_one_entry() -> None:
    """An accepted RSVP with nothing synced yet creates the entry in the target calendar, generation 1."""
    actions = run(Platform(A, 1), None)
    assert kinds(actions) == ["Create", "MarkInSync"]
    create = actions[0]
    assert isinstance(create, Create) and create.calendar_id == CAL and create.generation == 1
    assert create.content.response is A and create.content.key == key()


def test_tentative_is_shown_as_tentative() -> None:
    """A tentative RSVP renders an entry whose response is tentative."""
    create = run(Platform(T, 1), None)[0]
    assert isinstance(create, Create) and create.content.response is T


def test_unchanged_costs_no_call() -> None:
    """Same RSVP version and same fingerprint: only MarkInSync, no write."""
    assert kinds(run(Platform(A, 3), synced_for(A, 3))) == ["MarkInSync"]


def test_event_edit_updates_in_place_with_etag() -> None:
    """An edited title changes the fingerprint: one Update of the same entry, conditional on the etag."""
    actions = run(Platform(A, 3), synced_for(A, 3), ev=event(title="Launch party (moved)", version=2))
    assert kinds(actions) == ["Update", "MarkInSync"]
    up = actions[0]
    assert isinstance(up, Update) and up.provider_id == "g1" and up.etag == '"e1"'
    assert up.content.title == "Launch party (moved)"


def test_decline_deletes_the_entry() -> None:
    """Declining in the platform removes the entry."""
    actions = run(Platform(D, 4), synced_for(A, 3))
    assert kinds(actions) == ["Delete", "MarkInSync"] and actions[0] == Delete("g1", CAL)


def test_cancelled_event_deletes_the_entry() -> None:
    """A cancelled event removes the entry even though the RSVP stands."""
    actions = run(Platform(A, 3), synced_for(A, 3), ev=event(status=EventStatus.CANCELLED, version=2))
    assert kinds(actions) == ["Delete", "MarkInSync"]


def test_nothing_wanted_nothing_there() -> None:
    """A needs-action invitation with no entry: nothing to do."""
    assert kinds(run(Platform(N, 1), None)) == ["MarkInSync"]


def test_deleted_in_calendar_sets_a_tombstone() -> None:
    """The person deleted the entry and their RSVP stands: forget it, tombstone, do not re-create."""
    actions = run(Platform(A, 3), synced_for(A, 3), Remote(RemoteState.ABSENT, "g1"))
    assert kinds(actions) == ["ForgetEntry", "SetTombstone", "MarkInSync"]


def test_tombstone_survives_an_event_edit() -> None:
    """An event edit does not bring back an entry the person deleted."""
    s = Synced(tombstone=True, rsvp_version=3, generation=1)
    assert kinds(run(Platform(A, 3), s, ev=event(title="New title", version=5))) == ["MarkInSync"]


def test_platform_rsvp_change_clears_the_tombstone() -> None:
    """An RSVP change in the platform lifts the tombstone and re-creates with a new generation."""
    s = Synced(tombstone=True, rsvp_version=3, generation=1)
    actions = run(Platform(T, 4), s)
    assert kinds(actions) == ["ClearTombstone", "Create", "MarkInSync"]
    assert isinstance(actions[1], Create) and actions[1].generation == 2


def test_resync_clears_the_tombstone() -> None:
    """Resync brings back entries the person deleted: the person asked for everything."""
    s = Synced(tombstone=True, rsvp_version=3, generation=1)
    assert kinds(run(Platform(A, 3), s, resync=True)) == ["ClearTombstone", "Create", "MarkInSync"]


def test_deleted_in_calendar_after_a_platform_change_is_recreated() -> None:
    """The entry vanished but the platform RSVP changed since: the newer answer brings it back."""
    actions = run(Platform(T, 4), synced_for(A, 3), Remote(RemoteState.ABSENT, "g1"))
    assert kinds(actions) == ["ForgetEntry", "Create", "MarkInSync"]


def test_deleted_in_calendar_when_not_wanted_anyway() -> None:
    """The entry vanished and the platform declined too: forget, no tombstone, no write."""
    actions = run(Platform(D, 3), synced_for(A, 3), Remote(RemoteState.ABSENT, "g1"))
    assert kinds(actions) == ["ForgetEntry", "MarkInSync"]


def test_calendar_decline_comes_back_and_removes_the_entry() -> None:
    """Declined in the calendar, platform unchanged: the RSVP becomes declined, then the entry goes."""
    actions = run(Platform(A, 3), synced_for(A, 3), Remote(RemoteState.PRESENT, "g1", '"e2"', D))
    assert kinds(actions) == ["AdoptCalendarAnswer", "RecordRemote", "Delete", "MarkInSync"]
    assert actions[0] == AdoptCalendarAnswer(D, 3)


def test_calendar_tentative_comes_back_without_rewriting() -> None:
    """Tentative in the calendar: the RSVP follows and the entry (already tentative there) is not rewritten."""
    actions = run(Platform(A, 3), synced_for(A, 3), Remote(RemoteState.PRESENT, "g1", '"e2"', T))
    assert kinds(actions) == ["AdoptCalendarAnswer", "RecordRemote", "MarkInSync"]
    rec = actions[1]
    assert isinstance(rec, RecordRemote) and rec.response is T and rec.fingerprint is not None


def test_both_changed_platform_wins() -> None:
    """Both sides changed the answer since the last sync: the platform's answer is written to the calendar."""
    actions = run(Platform(T, 4), synced_for(A, 3), Remote(RemoteState.PRESENT, "g1", '"e2"', D))
    assert kinds(actions) == ["RecordRemote", "Update", "MarkInSync"]
    up = actions[1]
    assert isinstance(up, Update) and up.content.response is T and up.etag == '"e2"'


def test_own_write_does_not_echo() -> None:
    """The calendar shows the answer calsync wrote: no adoption, no write."""
    actions = run(Platform(A, 3), synced_for(A, 3, etag='"e1"'), Remote(RemoteState.PRESENT, "g1", '"e9"', A))
    assert kinds(actions) == ["RecordRemote", "MarkInSync"]


def test_needs_action_in_calendar_is_not_an_answer() -> None:
    """A reset to needs-action in the calendar is not taken as the person's answer."""
    actions = run(Platform(A, 3), synced_for(A, 3), Remote(RemoteState.PRESENT, "g1", '"e2"', N))
    assert kinds(actions) == ["RecordRemote", "MarkInSync"]


def test_lost_create_is_looked_up_before_writing() -> None:
    """A create whose outcome was never recorded is looked up by key, never blindly repeated."""
    actions = run(Platform(A, 3), Synced(create_pending=True, rsvp_version=2, generation=1))
    assert actions == [Lookup(key())]


def test_lost_create_for_a_cancelled_event_is_still_looked_up() -> None:
    """Even when nothing is wanted any more, a possibly created entry is found first (then deleted)."""
    actions = run(
        Platform(A, 3),
        Synced(create_pending=True, rsvp_version=3, generation=1),
        ev=event(status=EventStatus.CANCELLED),
    )
    assert actions == [Lookup(key())]


def test_target_change_moves_the_entry() -> None:
    """A new target calendar: delete in the old one, create in the new one."""
    actions = run(Platform(A, 3), synced_for(A, 3), target="work-cal")
    assert kinds(actions) == ["Delete", "Create", "MarkInSync"]
    assert actions[0] == Delete("g1", CAL)
    assert isinstance(actions[1], Create) and actions[1].calendar_id == "work-cal"


def test_resync_rewrites_an_entry_edited_in_the_calendar() -> None:
    """On Resync a remote etag that moved without an answer change means a personal edit: rewrite it."""
    actions = run(Platform(A, 3), synced_for(A, 3), Remote(RemoteState.PRESENT, "g1", '"e7"', A), resync=True)
    assert kinds(actions) == ["RecordRemote", "Update", "MarkInSync"]


def test_unknown_remote_changes_nothing_on_the_pull_leg() -> None:
    """A round that did not look at the calendar decides on the platform leg alone."""
    assert kinds(run(Platform(A, 3), synced_for(A, 3), Remote())) == ["MarkInSync"]


def test_reconcile_adopts_drops_duplicates_and_ignores_foreign_entries() -> None:
    """A full listing: mapped entry kept, extra copies deleted, unmapped entry adopted, others untouched."""
    listing = [
        ListedEntry(key(1), "g1", '"a"', A),
        ListedEntry(key(1), "g0", '"b"', A),  # duplicate of event 1 (store maps g1)
        ListedEntry(key(2), "g5", '"c"', T),  # store has no mapping for event 2: adopt
        ListedEntry(key(2), "g4", '"d"', T),  # second copy of event 2: lowest id adopted, other dropped
        ListedEntry(f"cs1.other.{CONN}.3", "x1", None, A),  # another installation
        ListedEntry(f"cs1.{INSTALL}.99.3", "x2", None, A),  # another connection
        ListedEntry("not-ours", "x3", None, A),
    ]
    stored = {1: Synced(provider_id="g1"), 2: Synced(), 3: Synced(provider_id="g9")}
    r = plan_reconcile(listing, stored, installation_id=INSTALL, connection_id=CONN)
    assert r.remote_by_event[1] == Remote(RemoteState.PRESENT, "g1", '"a"', A)
    assert r.adopted == {2: "g4"}
    assert sorted(d.provider_id for d in r.duplicates) == ["g0", "g5"]
    assert r.remote_by_event[3] == Remote(RemoteState.ABSENT, "g9")
    assert all(d.provider_id not in ("x1", "x2", "x3") for d in r.duplicates)


def test_every_plan_ends_in_sync_or_a_lookup() -> None:
    """Across a grid of inputs, a plan ends with MarkInSync, or is a single Lookup; and writes at most twice."""
    statuses = [None, N, A, T, D]
    remotes = [
        Remote(),
        Remote(RemoteState.ABSENT, "g1"),
        *(Remote(RemoteState.PRESENT, "g1", '"x"', r) for r in (None, N, A, T, D)),
    ]
    synceds = [
        None,
        Synced(),
        synced_for(A, 1),
        synced_for(T, 2),
        Synced(tombstone=True, rsvp_version=1),
        Synced(create_pending=True, rsvp_version=1),
    ]
    for st in statuses:
        for version in (1, 2):
            for s in synceds:
                for rem in remotes:
                    for resync in (False, True):
                        actions = run(Platform(st, version), s, rem, resync=resync)
                        writes = [a for a in actions if isinstance(a, (Create, Update, Delete))]
                        assert len(writes) <= 2
                        assert actions == [Lookup(key())] or isinstance(actions[-1], MarkInSync)
                        assert not (
                            any(isinstance(a, SetTombstone) for a in actions)
                            and any(isinstance(a, Create) for a in actions)
                        )
                        assert not (
                            any(isinstance(a, ClearTombstone) for a in actions)
                            and not (resync or s is None or s.rsvp_version != version)
                        )


def test_conflict_rewrites_even_when_the_platform_answer_is_unchanged() -> None:
    """Calendar said tentative, platform re-confirmed accepted: the calendar is rewritten to accepted."""
    actions = run(Platform(A, 4), synced_for(A, 3), Remote(RemoteState.PRESENT, "g1", '"e2"', T))
    assert kinds(actions) == ["RecordRemote", "Update", "MarkInSync"]


def test_restored_entry_lifts_the_tombstone() -> None:
    """An entry that exists again (the person undid the deletion) clears the tombstone and is kept in line."""
    s = synced_for(A, 3, tombstone=True)
    actions = run(Platform(A, 3), s, Remote(RemoteState.PRESENT, "g1", '"e1"', A))
    assert kinds(actions) == ["RecordRemote", "ClearTombstone", "MarkInSync"]


def test_answer_without_a_baseline_is_not_adopted() -> None:
    """An adopted copy's answer is not a change by the person when no answer was ever agreed: the platform decides."""
    s = Synced(provider_id="g1", calendar_id=CAL, etag='"e1"', rsvp_version=1)
    actions = run(Platform(N, 1), s, Remote(RemoteState.PRESENT, "g1", '"e1"', A))
    assert kinds(actions) == ["RecordRemote", "Delete", "MarkInSync"]


def test_calendar_answer_on_a_stale_entry_rewrites_it() -> None:
    """The event changed since our last write and the person answered: adopt the answer and update the entry."""
    actions = run(
        Platform(A, 3),
        synced_for(A, 3),
        Remote(RemoteState.PRESENT, "g1", '"e2"', T),
        ev=event(title="Renamed", version=2),
    )
    assert kinds(actions) == ["AdoptCalendarAnswer", "RecordRemote", "Update", "MarkInSync"]


# ---- write-ahead for deletes, and platform changes nothing confirmed (found by the simulation) -------------------


def test_own_lost_delete_seen_as_gone_is_not_a_tombstone() -> None:
    """calsync's delete landed but its answer was lost (delete_pending): the entry missing later is calsync's own
    doing, so nothing is tombstoned even though the RSVP stands (a move's delete, seeds 291 and 356)."""
    actions = run(Platform(A, 3), synced_for(A, 3, delete_pending=True), Remote(RemoteState.ABSENT, "g1"))
    assert kinds(actions) == ["ForgetEntry", "Create", "MarkInSync"]


def test_pending_delete_of_an_entry_wanted_again_is_looked_up() -> None:
    """A delete may have landed and the RSVP now wants the entry in the same calendar: look before deciding
    (re-writing an entry that may be gone, or skipping a write for it, would both be wrong)."""
    actions = run(Platform(A, 5), synced_for(A, 3, delete_pending=True))
    assert actions == [Lookup(key())]


def test_pending_delete_that_is_still_wanted_gone_is_retried() -> None:
    """A delete whose answer was lost and is still wanted: delete again (a 404 now is calsync's own)."""
    actions = run(Platform(D, 4), synced_for(A, 3, delete_pending=True))
    assert kinds(actions) == ["Delete", "MarkInSync"]


def test_pending_delete_of_a_move_is_retried_then_created() -> None:
    """A move whose delete answer was lost: delete there again, create here (no look-up needed)."""
    actions = run(Platform(A, 3), synced_for(A, 3, delete_pending=True), target="work-cal")
    assert kinds(actions) == ["Delete", "Create", "MarkInSync"]


def test_entry_seen_present_clears_a_pending_delete() -> None:
    """The calendar still shows the entry: the delete did not land; RecordRemote makes the executor clear it."""
    actions = run(Platform(A, 3), synced_for(A, 3, delete_pending=True), Remote(RemoteState.PRESENT, "g1", '"e1"', A))
    assert kinds(actions) == ["RecordRemote", "MarkInSync"]


def test_platform_change_that_writes_nothing_is_marked_unseen() -> None:
    """Accepted -> declined -> accepted before a round: the same content, no call, and since this round did not
    look at the calendar, nothing confirms the entry is still there (seed 1865)."""
    actions = run(Platform(A, 5), synced_for(A, 3))
    assert actions == [MarkInSync(5, True)]


def test_platform_change_seen_with_the_entry_is_not_unseen() -> None:
    """The same, in a round that saw the entry present: confirmed, so not marked."""
    actions = run(Platform(A, 5), synced_for(A, 3), Remote(RemoteState.PRESENT, "g1", '"e1"', A))
    assert actions[-1] == MarkInSync(5, False)


def test_unchanged_entry_keeps_its_unseen_mark_until_seen() -> None:
    """No change since, still not seen: the mark stays (an incremental pull or a write clears it)."""
    actions = run(Platform(A, 5), synced_for(A, 5, changed_unseen=True))
    assert actions == [MarkInSync(5, True)]


def test_deletion_seen_after_an_unseen_platform_change_recreates() -> None:
    """The deletion may predate the platform change nothing confirmed: the newer answer brings it back."""
    actions = run(Platform(A, 5), synced_for(A, 5, changed_unseen=True), Remote(RemoteState.ABSENT, "g1"))
    assert kinds(actions) == ["ForgetEntry", "Create", "MarkInSync"]


def test_answer_on_an_adopted_copy_that_shows_the_current_rsvp_is_the_persons() -> None:
    """A copy adopted with no recorded baseline (left by a disconnect) carries the fingerprint calsync wrote; it
    is exactly what the current RSVP renders to, so the platform has not moved since and the calendar's different
    answer is the person's: adopted, and (the copy being current) nothing is rewritten (seed 1595)."""
    written = renderer(event())(A)
    assert written is not None
    adopted = Synced(provider_id="g1", calendar_id=CAL, etag='"e1"', generation=1)
    actions = run(Platform(A, 3), adopted, Remote(RemoteState.PRESENT, "g1", '"e2"', T, written.fingerprint()))
    assert kinds(actions) == ["AdoptCalendarAnswer", "RecordRemote", "MarkInSync"]
    assert actions[0] == AdoptCalendarAnswer(T, 3)


def test_answer_on_an_adopted_copy_of_an_older_rsvp_is_not_taken() -> None:
    """The copy was written for another RSVP than the current one: the platform moved since, so it decides."""
    written = renderer(event())(T)
    assert written is not None
    adopted = Synced(provider_id="g1", calendar_id=CAL, etag='"e1"', generation=1)
    actions = run(Platform(A, 3), adopted, Remote(RemoteState.PRESENT, "g1", '"e2"', D, written.fingerprint()))
    assert "AdoptCalendarAnswer" not in kinds(actions)
    assert kinds(actions)[-2:] == ["Update", "MarkInSync"]


def test_only_plain_creates_are_batched() -> None:
    """A backfill's create and a Resync's return may share a batch; a create after forgetting a mapping may not
    (the batch's write-ahead would still name the old entry)."""
    from calsync.sync.entry_jobs import batchable

    assert isinstance(batchable(run(Platform(A, 3), None)), Create)
    s = Synced(tombstone=True, rsvp_version=3, generation=1)
    assert isinstance(batchable(run(Platform(A, 3), s, resync=True)), Create)
    gone = run(Platform(T, 4), synced_for(A, 3), Remote(RemoteState.ABSENT, "g1"))
    assert kinds(gone) == ["ForgetEntry", "Create", "MarkInSync"] and batchable(gone) is None
    assert batchable(run(Platform(A, 3), synced_for(A, 3), target="work-cal")) is None  # a move deletes first
    assert batchable(run(Platform(A, 3), synced_for(A, 3))) is None  # nothing to write
