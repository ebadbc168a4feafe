"""An answer a calendar shows is the person's word only against the baseline of *that* entry (issue 11).

The long simulation lost an Outlook RSVP: after a target move and expired delta links, a full reconcile adopted a
copy of the entry that calsync had written at an older platform answer, and judged the copy's answer against the
baseline recorded for another entry (the one the store mapped, since gone). The copy's older answer looked like a
calendar change made after the last platform change and overwrote the newer platform answer.
"""

from __future__ import annotations

from typing import Any

import pytest

from calsync.core.connection import Provider
from calsync.core.model import RsvpStatus
from calsync.store.connections import ConnectionRepository
from tests.engine.conftest import World

A, T = RsvpStatus.ACCEPTED, RsvpStatus.TENTATIVE


def _copy_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The Graph body of a second copy of ``entry`` as calsync wrote it (same key, same written fingerprint), like
    one a create whose answer was lost leaves behind."""
    keep = ("subject", "body", "start", "end", "location", "showAs", "isReminderOn", "categories")
    payload = {k: entry[k] for k in keep if k in entry}
    payload["singleValueExtendedProperties"] = [
        {"id": p["id"], "value": p["value"]} for p in entry.get("singleValueExtendedProperties") or []
    ]
    return payload


@pytest.mark.parametrize("world", [pytest.param(Provider.MICROSOFT, id="microsoft")], indirect=True)
def test_a_copy_written_at_an_older_platform_answer_does_not_overwrite_the_newer_one(world: World) -> None:
    email = "ann@example.com"
    world.connect(email)
    ev = world.event()
    world.rsvp(email, ev, A)
    world.sync()
    [first] = world.entries(email)
    assert first["showAs"] == "busy"
    # A copy calsync wrote while the answer was Accepted (its create's answer lost: the store never mapped it).
    world.emulator.create_event_as(email, _copy_of(first))
    world.rsvp(email, ev, T)  # the person's newer answer, in the platform
    world.sync()
    assert {e["id"]: e["showAs"] for e in world.entries(email)}[first["id"]] == "tentative"
    # The mapped entry goes (the person deletes it); the delta links expire: the next round lists the calendar.
    world.emulator.delete_as(email, first["id"])
    world.emulator.expire_delta_tokens()
    with world.runtime.db.session() as s:
        record = ConnectionRepository(s).active_for_person(world.person(email).person_id)
        assert record is not None
        ConnectionRepository(s).mark_due(record.id, world.ctx.now(), pull=True)
    world.sync()
    assert world.my_rsvp(email, ev)[0] is T  # the copy's Accepted predates the platform's Tentative
    assert [e["showAs"] for e in world.entries(email)] == ["tentative"]


def _pull_now(world: World, email: str) -> None:
    with world.runtime.db.session() as s:
        record = ConnectionRepository(s).active_for_person(world.person(email).person_id)
        assert record is not None
        ConnectionRepository(s).mark_due(record.id, world.ctx.now(), pull=True)


@pytest.mark.parametrize("world", [pytest.param(Provider.MICROSOFT, id="microsoft")], indirect=True)
def test_a_platform_answer_recorded_without_looking_is_not_a_baseline_for_an_older_calendar_answer(
    world: World,
) -> None:
    """``--long`` seed 40031: the calendar says Accepted; then the person answers Tentative in the platform, the
    answer the entry already renders, so the round writes nothing and does not look (``changed_unseen``); then the
    delta links expire and a full listing reads the older Accepted. calsync last *saw* the entry before the platform
    changed, so both changed since: the platform wins."""
    email = "ann@example.com"
    world.connect(email)
    ev = world.event()
    world.rsvp(email, ev, A)
    world.sync()
    [entry] = world.entries(email)
    world.answer_in_calendar(email, entry, T)
    _pull_now(world, email)
    world.sync()
    assert world.my_rsvp(email, ev) == (T, "microsoft")  # the calendar's answer, adopted
    world.answer_in_calendar(email, world.entries(email)[0], A)  # not seen by calsync yet
    world.rsvp(email, ev, T)  # newer, in the platform: the same answer the entry renders, no write needed
    world.sync()
    assert world.my_rsvp(email, ev) == (T, "platform")
    world.emulator.expire_delta_tokens()
    _pull_now(world, email)
    world.sync()
    assert world.my_rsvp(email, ev)[0] is T
    assert [e["showAs"] for e in world.entries(email)] == ["tentative"]
