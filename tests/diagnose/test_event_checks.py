"""The event half of diagnose against the sandbox, on both providers: each of the seeds' "event not showing in
my calendar" cases gets its verdict, and the presence is what the provider says now (asked by the entry's key)."""

from __future__ import annotations

import pytest

from calsync.core.connection import Provider
from calsync.core.model import RsvpStatus
from calsync.errors import InvalidInput
from calsync.services import connections
from calsync.services.diagnose import Verdict
from tests.diagnose.conftest import poll, run
from tests.engine.conftest import World

ANN = "ann@example.com"
A, D = RsvpStatus.ACCEPTED, RsvpStatus.DECLINED


def test_entry_present_is_ok_and_the_provider_was_asked(world: World) -> None:
    """An accepted, synced event is in the calendar now: ok, with the mapping and the RSVP facts."""
    world.connect(ANN)
    ev = world.event()
    world.rsvp(ANN, ev, A)
    world.sync()
    d = run(world, ANN, ev)
    event = d.check("event")
    assert event.verdict is Verdict.OK and "right now" in event.finding
    assert event.facts["present"] is True and event.facts["provider_id"]
    assert event.facts["dirty"] is False and event.facts["tombstone"] is False
    rsvp = d.check("rsvp")
    assert rsvp.facts["status"] == "accepted" and rsvp.facts["source"] == "platform"


def test_not_rsvped_is_not_expected(world: World) -> None:
    """An event the person never answered is not expected in the calendar: ok, with how to RSVP."""
    world.connect(ANN)
    ev = world.event()
    world.person(ANN)
    world.sync()
    event = run(world, ANN, ev).check("event")
    assert event.verdict is Verdict.OK and "has not RSVP'd" in event.finding
    assert event.facts["expected"] is False and event.facts["present"] is False


def test_declined_is_not_expected_and_the_entry_is_gone(world: World) -> None:
    """Declining removes the entry: diagnose says it is not expected, because the person declined."""
    world.connect(ANN)
    ev = world.event()
    world.rsvp(ANN, ev, A)
    world.sync()
    world.rsvp(ANN, ev, D)
    world.sync()
    event = run(world, ANN, ev).check("event")
    assert event.verdict is Verdict.OK and "declined" in event.finding
    assert "still there" not in event.finding


def test_tombstone_says_the_person_deleted_it_and_resync_brings_it_back(world: World) -> None:
    """An entry the person deleted in their calendar is kept deleted; diagnose says so, and that Resync brings it
    back, which it does."""
    world.connect(ANN)
    ev = world.event()
    world.rsvp(ANN, ev, A)
    world.sync()
    world.delete_in_calendar(ANN, world.entries(ANN)[0])
    poll(world)
    event = run(world, ANN, ev).check("event")
    assert event.verdict is Verdict.WARNING and event.facts["tombstone"] is True
    assert "deleted it" in event.finding and "Resync brings it back" in (event.next_step or "")
    connections.request_resync(world.runtime.calendar, world.person(ANN))
    world.sync()
    assert run(world, ANN, ev).check("event").verdict is Verdict.OK


def test_entry_deleted_but_not_yet_pulled_is_a_problem_naming_resync(world: World) -> None:
    """calsync wrote the entry, the provider no longer has it and no round has noticed yet: a problem with the fix."""
    world.connect(ANN)
    ev = world.event()
    world.rsvp(ANN, ev, A)
    world.sync()
    world.delete_in_calendar(ANN, world.entries(ANN)[0])
    event = run(world, ANN, ev).check("event")
    assert event.verdict is Verdict.PROBLEM and event.facts["present"] is False
    assert "not in the calendar now" in event.finding and "Resync" in (event.next_step or "")


def test_in_another_calendar_names_it(world: World) -> None:
    """With a dedicated calendar as the target, the entry is there and not in the main calendar: diagnose names
    the calendar so support can say "check the right calendar"."""
    world.connect(ANN)
    connections.set_target(world.runtime.calendar, world.person(ANN), create_dedicated=True)
    ev = world.event()
    world.rsvp(ANN, ev, A)
    world.sync()
    event = run(world, ANN, ev).check("event")
    assert event.verdict is Verdict.WARNING
    assert "Juno Events events" in event.finding and "Check the right calendar" in (event.next_step or "")
    assert event.facts["found_in"] == "Juno Events events" and event.facts["present"] is True


def test_pending_is_syncing(world: World) -> None:
    """Accepted a moment ago and no round yet: "syncing", a warning that says to wait."""
    world.connect(ANN)
    world.sync()
    ev = world.event()
    world.rsvp(ANN, ev, A)
    event = run(world, ANN, ev).check("event")
    assert event.verdict is Verdict.WARNING and event.finding.startswith("Syncing")
    assert event.facts["dirty"] is True and event.facts["present"] is False


def test_a_refused_write_is_a_problem_with_the_error(world: World) -> None:
    """The provider refused the create for good (400): the entry's error is the finding, with what to do."""
    world.connect(ANN)
    world.sync()
    ev = world.event()
    world.rsvp(ANN, ev, A)
    faults = getattr(world.sandbox.sandbox.faults, world.provider.value)
    path = "/events/import" if world.provider is Provider.GOOGLE else "/events"
    faults.fail_next(400, count=5, method="POST", path_contains=path)
    world.sync()
    event = run(world, ANN, ev).check("event")
    assert event.verdict is Verdict.PROBLEM and "failed" in event.finding
    assert event.facts["last_error"] and str(event.facts["last_error"]) in event.finding
    assert event.facts["last_attempt_at"] is not None


def test_connection_in_error_explains_the_event_cannot_sync(world: World) -> None:
    """With the grant revoked, the event cannot sync: problem, with the reconnect fix."""
    world.connect(ANN)
    ev = world.event()
    world.rsvp(ANN, ev, A)
    world.sync()
    world.emulator.revoke_grants(ANN) if world.provider is Provider.GOOGLE else world.emulator.revoke(ANN)
    event = run(world, ANN, ev).check("event")
    assert event.verdict is Verdict.PROBLEM and "in error" in event.finding


def test_no_connection_for_an_accepted_event(world: World) -> None:
    """Accepted but never connected: the event cannot be in a calendar; connect in Profile → Calendar."""
    ev = world.event()
    world.rsvp(ANN, ev, A)
    event = run(world, ANN, ev).check("event")
    assert event.verdict is Verdict.PROBLEM and "no calendar is connected" in event.finding


def test_unknown_event_is_bad_input(world: World) -> None:
    """An event id that does not exist in the person's organization is bad input naming the id."""
    world.connect(ANN)
    with pytest.raises(InvalidInput, match="no event with id 99999"):
        run(world, ANN, 99999)
