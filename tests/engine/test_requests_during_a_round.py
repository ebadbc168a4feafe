"""Requests that arrive while a round runs are kept for the next round, not cleared by the round that read the
flags before they arrived (issue 11): a Resync, a full-sync request (a target calendar change) and a pull asked
for by a push notification.

The interleaving is made exact at the transport: a sandbox hook runs the person's action while a given request of
the round is in flight (before the provider answers it, or once the answer is ready but not yet sent), so the
round has read its flags before the request and records its end after it. Nothing of calsync's is patched.
"""

from __future__ import annotations

from collections.abc import Callable

from calsync.core.connection import Provider
from calsync.core.model import RsvpStatus
from calsync.sandbox.faults import Hook
from calsync.services import connections
from calsync.store.connections import ConnectionRecord, ConnectionRepository
from tests.engine.conftest import World

A, T = RsvpStatus.ACCEPTED, RsvpStatus.TENTATIVE
ANN = "ann@example.com"


def _record(world: World) -> ConnectionRecord:
    with world.runtime.db.session(write=False) as s:
        record = ConnectionRepository(s).active_for_person(world.person(ANN).person_id)
    assert record is not None
    return record


def _accepted_and_synced(world: World) -> int:
    world.connect(ANN)
    ev = world.event()
    world.rsvp(ANN, ev, A)
    world.sync()
    assert world.titles(ANN) == ["Launch party"]
    return ev


def _api_path(world: World) -> str:
    return "/calendar/v3/" if world.provider is Provider.GOOGLE else "/graph/v1.0/"


def _on_first_call(world: World, action: Callable[[], None], *, after_answer: bool = False) -> Hook:
    """Run ``action`` while the next round's first provider call is in flight."""
    plan = getattr(world.sandbox.sandbox.faults, world.provider.value)
    hook: Hook = plan.on_request(action, path_contains=_api_path(world), after_answer=after_answer)
    return hook


def _expire_cursor(world: World) -> None:
    """The provider forgets calsync's place (410): the next pull turns the round into a full reconcile."""
    if world.provider is Provider.GOOGLE:
        world.emulator.expire_sync_tokens()
    else:
        world.emulator.expire_delta_tokens()


def _pull_due(world: World) -> None:
    """The poll comes due (what a notification or the poll interval does): the next round starts with a pull."""
    with world.runtime.db.session() as s:
        ConnectionRepository(s).mark_due(_record(world).id, world.ctx.now(), pull=True)


def _assert_fired(hook: Hook) -> None:
    assert hook.fired == 1 and not hook.errors, hook.errors


def test_resync_pressed_during_a_full_round_is_not_lost(world: World) -> None:
    """The person deleted the entry and presses Resync while a full round (a 410 made it one) is in flight: that
    round read no Resync, so it keeps the deletion; the Resync stays pending and the next round brings the entry
    back."""
    _accepted_and_synced(world)
    world.delete_in_calendar(ANN, world.entries(ANN)[0])
    _expire_cursor(world)
    _pull_due(world)
    hook = _on_first_call(world, lambda: connections.request_resync(world.runtime.calendar, world.person(ANN)))
    reports = world.sync()
    _assert_fired(hook)
    assert reports[0].full  # the round the Resync arrived in
    assert world.titles(ANN) == ["Launch party"]
    after = _record(world)
    assert not after.need_full_sync and not after.resync_requested and after.need_full_sync_reason is None


def test_target_change_during_a_full_round_moves_the_entries(world: World) -> None:
    """The person picks a dedicated calendar while a full round on the old one is in flight: the full sync it
    asks for is not cleared by that round, the round does not put the old calendar back, and the next round
    moves the entries."""
    _accepted_and_synced(world)
    _expire_cursor(world)
    _pull_due(world)
    chosen: list[str] = []

    def pick_dedicated() -> None:
        conn = connections.set_target(world.runtime.calendar, world.person(ANN), create_dedicated=True)
        assert conn.target_calendar_id is not None
        chosen.append(conn.target_calendar_id)

    hook = _on_first_call(world, pick_dedicated)
    reports = world.sync()
    _assert_fired(hook)
    assert reports[0].full
    after = _record(world)
    assert after.target_calendar_id == chosen[0] and not after.need_full_sync
    assert world.entries(ANN) == []
    assert [e.get("summary") or e.get("subject") for e in world.entries_in(ANN, chosen[0])] == ["Launch party"]


def test_notification_after_the_pull_started_pulls_again_right_away(world: World) -> None:
    """The person answers in the calendar and its notification arrives after the round's pull was answered (the
    answer is not in it): the connection is due again at release and the next round pulls, instead of the answer
    waiting for the next poll."""
    ev = _accepted_and_synced(world)
    entry = world.entries(ANN)[0]
    _pull_due(world)

    def answer_and_notify() -> None:
        world.answer_in_calendar(ANN, entry, T)
        _pull_due(world)  # what services/notifications.py does for an authenticated notification

    hook = _on_first_call(world, answer_and_notify, after_answer=True)
    reports = world.sync()
    _assert_fired(hook)
    assert len(reports) >= 2
    assert world.my_rsvp(ANN, ev) == (T, world.provider.value)
    assert not _record(world).pull_requested


def test_a_pull_asked_for_survives_a_round_that_failed_before_pulling(world: World) -> None:
    """A notification asks for a pull, and the round fails (the provider is down) before it could pull: the request
    is not consumed, so once the connection is due again the round pulls, without waiting for the next poll."""
    ev = _accepted_and_synced(world)
    world.answer_in_calendar(ANN, world.entries(ANN)[0], T)
    plan = getattr(world.sandbox.sandbox.faults, world.provider.value)
    plan.error_rate, plan.error_statuses = 1.0, (500,)
    _pull_due(world)
    reports = world.sync()
    assert reports and reports[-1].outcome == "transient"
    assert _record(world).pull_requested
    plan.reset()
    with world.runtime.db.session() as s:  # the backoff ends (no new pull request: only "due now")
        ConnectionRepository(s).mark_due(_record(world).id, world.ctx.now())
    world.sync()
    assert world.my_rsvp(ANN, ev) == (T, world.provider.value)
