"""Event operations through calsync.services on SQLite and PostgreSQL: zones, versions, edits, cancel, invite,
upcoming, and the change seam that the sync issue hooks into."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
from sqlalchemy.orm import Session

from calsync.core.changes import Change, EventChanged, EventChangeKind, RsvpChanged
from calsync.core.model import AllDaySpan, EventStatus, Module, RsvpStatus, TimedSpan, TimezoneSource
from calsync.errors import Conflict, FeatureDisabled, InvalidInput, NotFound, PermissionDenied
from calsync.services import events, organizations, people, rsvps
from calsync.services.context import ServiceContext
from calsync.services.events import EventDraft, EventPatch

from .conftest import World

START, END = dt.datetime(2026, 3, 10, 9, 0), dt.datetime(2026, 3, 10, 10, 0)


def draft(**kw: object) -> EventDraft:
    base: dict[str, object] = {"title": "Planning", "start": START, "end": END}
    base.update(kw)
    return EventDraft(**base)  # type: ignore[arg-type]


def patch(**kw: object) -> EventPatch:
    return EventPatch(fields=frozenset(kw), **kw)  # type: ignore[arg-type]


def test_an_event_without_a_zone_is_fixed_to_the_organizers_zone(ctx: ServiceContext, world: World) -> None:
    """No zone: the organizer's applies, is stored, and a later change of the organizer's zone does not move it."""
    event = events.create_event(ctx, world.organizer, draft())
    assert (event.timezone, event.timezone_source) == ("America/New_York", TimezoneSource.ORGANIZER)
    assert event.start_utc == dt.datetime(2026, 3, 10, 13, 0, tzinfo=dt.UTC)
    people.update_me(ctx, world.organizer, timezone="Asia/Tokyo")
    again = events.get_event(ctx, world.member, event.id)
    assert (again.timezone, again.start_utc, again.version) == ("America/New_York", event.start_utc, 1)


def test_an_event_with_its_own_zone_says_so(ctx: ServiceContext, world: World) -> None:
    """A given zone is used and reported as the event's own."""
    event = events.create_event(ctx, world.organizer, draft(timezone="Europe/Berlin"))
    assert (event.timezone, event.timezone_source) == ("Europe/Berlin", TimezoneSource.EVENT)
    assert event.start_utc == dt.datetime(2026, 3, 10, 8, 0, tzinfo=dt.UTC)
    assert event.status is EventStatus.SCHEDULED and event.version == 1


def test_all_day_events_store_dates(ctx: ServiceContext, world: World) -> None:
    """An all-day event keeps its inclusive dates and no times."""
    event = events.create_event(
        ctx,
        world.admin,
        EventDraft(title="Offsite", all_day=True, start_date=dt.date(2026, 5, 1), end_date=dt.date(2026, 5, 2)),
    )
    stored = events.get_event(ctx, world.member, event.id)
    assert stored.all_day and stored.span == AllDaySpan(dt.date(2026, 5, 1), dt.date(2026, 5, 2))
    assert stored.span.exclusive_end_date == dt.date(2026, 5, 3)


def test_spring_forward_start_is_refused_and_nothing_is_stored(ctx: ServiceContext, world: World, snapshot) -> None:  # type: ignore[no-untyped-def]
    """02:30 on 2026-03-08 in New York is refused with the gap in the message and no event is stored."""
    before = snapshot()
    with pytest.raises(InvalidInput, match="02:30 does not exist on 2026-03-08 in America/New_York"):
        events.create_event(
            ctx, world.organizer, draft(start=dt.datetime(2026, 3, 8, 2, 30), end=dt.datetime(2026, 3, 8, 4))
        )
    assert snapshot() == before


def test_every_change_bumps_the_version_and_a_no_op_does_not(ctx: ServiceContext, world: World, clock) -> None:  # type: ignore[no-untyped-def]
    """Edits increase the version and updated_at; an edit that changes nothing leaves both alone."""
    event = events.create_event(ctx, world.organizer, draft())
    clock.advance(minutes=5)
    edited = events.update_event(ctx, world.organizer, event.id, patch(title="Planning (moved)"))
    assert edited.version == 2 and edited.updated_at == clock.now and edited.created_at == event.created_at
    same = events.update_event(ctx, world.organizer, event.id, patch(title="Planning (moved)"))
    assert same.version == 2
    moved = events.update_event(ctx, world.organizer, event.id, patch(start=dt.datetime(2026, 3, 10, 8, 0)))
    assert moved.version == 3 and isinstance(moved.span, TimedSpan) and moved.span.end_local == END


def test_switching_a_timed_event_to_all_day_needs_dates(ctx: ServiceContext, world: World) -> None:
    """Turning a timed event all-day without dates is refused; with dates, the times are gone."""
    event = events.create_event(ctx, world.organizer, draft())
    with pytest.raises(InvalidInput, match="needs start_date"):
        events.update_event(ctx, world.organizer, event.id, patch(all_day=True))
    switched = events.update_event(ctx, world.organizer, event.id, patch(all_day=True, start_date=dt.date(2026, 3, 10)))
    assert switched.all_day and switched.span == AllDaySpan(dt.date(2026, 3, 10), dt.date(2026, 3, 10))


def test_clearing_the_zone_switches_to_the_organizers_current_zone(ctx: ServiceContext, world: World) -> None:
    """PATCH timezone=null re-applies the organizer's zone (now), keeping the wall-clock times."""
    event = events.create_event(ctx, world.organizer, draft(timezone="Europe/Berlin"))
    updated = events.update_event(ctx, world.organizer, event.id, patch(timezone=None))
    assert (updated.timezone, updated.timezone_source) == ("America/New_York", TimezoneSource.ORGANIZER)
    assert isinstance(updated.span, TimedSpan) and updated.span.start_local == START


def test_only_the_organizer_or_an_admin_changes_an_event(ctx: ServiceContext, world: World) -> None:
    """Another organizer, a member and support may not edit; an admin may; another organization sees nothing."""
    event = events.create_event(ctx, world.organizer, draft())
    for actor in (world.organizer2, world.member, world.support):
        with pytest.raises(PermissionDenied):
            events.update_event(ctx, actor, event.id, patch(title="x"))
    assert events.update_event(ctx, world.admin, event.id, patch(title="By admin")).title == "By admin"
    with pytest.raises(NotFound):
        events.update_event(ctx, world.other_admin, event.id, patch(title="x"))


def test_cancel_is_final_and_idempotent(ctx: ServiceContext, world: World) -> None:
    """A cancelled event gets a new version once, cannot be edited, invited to or answered."""
    event = events.create_event(ctx, world.organizer, draft())
    cancelled = events.cancel_event(ctx, world.organizer, event.id)
    assert cancelled.status is EventStatus.CANCELLED and cancelled.version == 2
    assert events.cancel_event(ctx, world.organizer, event.id).version == 2
    with pytest.raises(Conflict):
        events.update_event(ctx, world.organizer, event.id, patch(title="x"))
    with pytest.raises(Conflict):
        events.invite(ctx, world.organizer, event.id, [world.member.person_id])
    with pytest.raises(Conflict):
        rsvps.answer(ctx, world.member, event.id, RsvpStatus.ACCEPTED)


def test_invite_creates_needs_action_rsvps_once(ctx: ServiceContext, world: World) -> None:
    """Invitees get needs_action RSVPs; inviting again keeps their answers; the event version is unchanged."""
    event = events.create_event(ctx, world.organizer, draft())
    first = events.invite(ctx, world.organizer, event.id, [world.member.person_id, world.member2.person_id])
    assert [r.status for r in first] == [RsvpStatus.NEEDS_ACTION] * 2
    rsvps.answer(ctx, world.member, event.id, RsvpStatus.ACCEPTED)
    again = events.invite(ctx, world.organizer, event.id, [world.member.person_id])
    assert again[0].status is RsvpStatus.ACCEPTED
    assert events.get_event(ctx, world.organizer, event.id).version == 1


def test_inviting_someone_from_another_organization_changes_nothing(
    ctx: ServiceContext, world: World, snapshot
) -> None:  # type: ignore[no-untyped-def]
    """One unknown invitee fails the whole invitation: nobody is invited."""
    event = events.create_event(ctx, world.organizer, draft())
    before = snapshot()
    with pytest.raises(NotFound, match=str(world.other_admin.person_id)):
        events.invite(ctx, world.organizer, event.id, [world.member.person_id, world.other_admin.person_id])
    assert snapshot() == before


def test_upcoming_lists_events_not_yet_ended_in_start_order(ctx: ServiceContext, world: World, clock) -> None:  # type: ignore[no-untyped-def]
    """Ended and cancelled events are left out (unless asked for), the rest come earliest first."""
    late = events.create_event(
        ctx, world.organizer, draft(title="late", start=dt.datetime(2026, 3, 20, 9), end=dt.datetime(2026, 3, 20, 10))
    )
    early = events.create_event(ctx, world.organizer, draft(title="early"))
    past = events.create_event(
        ctx, world.organizer, draft(title="past", start=dt.datetime(2026, 2, 1, 9), end=dt.datetime(2026, 2, 1, 10))
    )
    gone = events.create_event(ctx, world.organizer, draft(title="gone"))
    events.cancel_event(ctx, world.organizer, gone.id)
    assert [e.id for e in events.list_upcoming(ctx, world.member)] == [early.id, late.id]
    assert [e.id for e in events.list_upcoming(ctx, world.member, include_cancelled=True)] == [
        early.id,
        gone.id,
        late.id,
    ]
    since = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert past.id in [e.id for e in events.list_upcoming(ctx, world.member, after=since)]
    clock.advance(days=15)
    assert [e.id for e in events.list_upcoming(ctx, world.member)] == [late.id]
    assert events.list_upcoming(ctx, world.other_admin) == []


def test_events_module_off_refuses_every_event_operation(ctx: ServiceContext, world: World) -> None:
    """With Events off, creating, reading and listing events is FeatureDisabled with the seeds' message."""
    event = events.create_event(ctx, world.organizer, draft())
    organizations.set_module(ctx, world.admin, Module.EVENTS, False)
    for call in (
        lambda: events.create_event(ctx, world.organizer, draft()),
        lambda: events.get_event(ctx, world.member, event.id),
        lambda: events.list_upcoming(ctx, world.member),
        lambda: rsvps.answer(ctx, world.member, event.id, RsvpStatus.ACCEPTED),
    ):
        with pytest.raises(FeatureDisabled, match="need the Events module; ask your administrator"):
            call()
    organizations.set_module(ctx, world.admin, Module.EVENTS, True)
    assert events.get_event(ctx, world.member, event.id).id == event.id


class Recorder:
    """A change hook that remembers what it was given (the sync issue's hook goes in the same place)."""

    def __init__(self) -> None:
        self.batches: list[tuple[Change, ...]] = []

    def __call__(self, session: Session, changes: Sequence[Change]) -> None:
        assert session.in_transaction()
        self.batches.append(tuple(changes))


def test_every_event_and_rsvp_change_reaches_the_change_hooks(ctx: ServiceContext, world: World) -> None:
    """Create, edit, invite, answer and cancel each hand their changes to the hooks inside their transaction."""
    recorder = Recorder()
    ctx.db.change_hooks.append(recorder)
    event = events.create_event(ctx, world.organizer, draft())
    events.update_event(ctx, world.organizer, event.id, patch(title="T2"))
    events.update_event(ctx, world.organizer, event.id, patch(title="T2"))  # no-op: no change recorded
    events.invite(ctx, world.organizer, event.id, [world.member.person_id])
    rsvps.answer(ctx, world.member, event.id, RsvpStatus.TENTATIVE)
    rsvps.answer(ctx, world.member, event.id, RsvpStatus.TENTATIVE)  # no-op
    events.cancel_event(ctx, world.organizer, event.id)
    kinds = [
        [type(c).__name__ + ":" + getattr(getattr(c, "kind", None), "value", "") for c in b] for b in recorder.batches
    ]
    assert kinds == [
        ["EventChanged:created"],
        ["EventChanged:updated"],
        ["RsvpChanged:", "EventChanged:invited"],
        ["RsvpChanged:"],
        ["EventChanged:cancelled"],
    ]
    answer = recorder.batches[3][0]
    assert isinstance(answer, RsvpChanged) and answer.status is RsvpStatus.TENTATIVE and answer.version == 2
    invited = recorder.batches[2][1]
    assert isinstance(invited, EventChanged) and invited.kind is EventChangeKind.INVITED
    assert invited.person_ids == (world.member.person_id,)


def test_a_failing_change_hook_rolls_the_change_back(ctx: ServiceContext, world: World, snapshot) -> None:  # type: ignore[no-untyped-def]
    """The hooks run in the change's transaction: if marking fails, the change is not stored either."""
    event = events.create_event(ctx, world.organizer, draft())
    before = snapshot()

    def broken(session: Session, changes: Sequence[Change]) -> None:
        raise RuntimeError("marking failed")

    ctx.db.change_hooks.append(broken)
    with pytest.raises(RuntimeError):
        events.update_event(ctx, world.organizer, event.id, patch(title="never stored"))
    assert snapshot() == before
