"""The connection half of the internal note's checklist against the sandbox, on both providers: no connection,
disconnected, the grant failures a real refresh finds (revoked, password changed, expired, consent withdrawn),
need_full_sync after an auth error, the pull, the push channel and the workers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from calsync.core.connection import RECONNECT_FIX, Provider
from calsync.services import connections
from calsync.services.diagnose import Verdict
from tests.diagnose.conftest import is_google, record, run
from tests.engine.conftest import World
from tests.engine.live import wait_for, working

ANN = "ann@example.com"


def test_no_connection_is_a_problem_with_the_way_to_connect(world: World) -> None:
    """A person who never connected gets "not connected" and where to connect; no token or pull checks apply."""
    world.person(ANN)
    d = run(world, ANN)
    check = d.check("connection")
    assert check.verdict is Verdict.PROBLEM and "Not connected" in check.finding
    assert check.next_step is not None and "Profile → Calendar" in check.next_step
    assert d.verdict is Verdict.PROBLEM
    assert {c.key for c in d.checks} == {"events_module", "connection", "workers"}


def test_disconnected_says_when(world: World) -> None:
    """A disconnected calendar is a problem that says when it was disconnected and how to connect again."""
    world.connect(ANN)
    connections.disconnect(world.runtime.calendar, world.person(ANN))
    check = run(world, ANN).check("connection")
    assert check.verdict is Verdict.PROBLEM
    assert "was disconnected" in check.finding and " ago)" in check.finding
    assert check.facts["disconnected_at"] is not None


def _revoke(world: World) -> None:
    world.emulator.revoke_grants(ANN) if is_google(world) else world.emulator.revoke(ANN)


def _password(world: World) -> None:
    world.emulator.password_changed(ANN)


def _expire(world: World) -> None:
    world.emulator.expire_refresh_tokens(ANN)


BREAKERS: dict[str, tuple[Callable[[World], None], str, str]] = {
    # case -> (what happens at the provider, Google's failure kind, Microsoft's failure kind)
    "revoked grant": (_revoke, "revoked_expired_or_password_changed", "revoked_or_password_changed"),
    "password changed": (_password, "revoked_expired_or_password_changed", "revoked_or_password_changed"),
    "expired refresh token": (_expire, "revoked_expired_or_password_changed", "expired"),
}


@pytest.mark.parametrize("case", list(BREAKERS))
def test_a_refused_refresh_is_a_problem_with_the_fix(world: World, case: str) -> None:
    """diagnose really refreshes: a grant broken at the provider is found now, named, and the fix given; the
    connection goes to error with need_full_sync set, as the next sync round would have done."""
    world.connect(ANN)
    world.sync()
    breaker, google_kind, microsoft_kind = BREAKERS[case]
    breaker(world)
    d = run(world, ANN)
    token = d.check("token")
    assert token.verdict is Verdict.PROBLEM
    assert token.facts["outcome"] == "refused"
    assert token.facts["failure"] == (google_kind if is_google(world) else microsoft_kind)
    assert token.next_step == RECONNECT_FIX
    assert "refused the refresh" in token.finding and "invalid_grant" in token.finding
    assert d.check("connection").verdict is Verdict.PROBLEM and "in error" in d.check("connection").finding
    assert record(world, ANN).status.value == "error"


def test_consent_withdrawn_is_named(world: World) -> None:
    """Microsoft says when consent was withdrawn (AADSTS65001); diagnose names it (Google has no such state)."""
    if is_google(world):
        pytest.skip("Google has no separate 'consent withdrawn' state: removing access is a revoke")
    world.connect(ANN)
    world.emulator.revoke_consent(ANN)
    token = run(world, ANN).check("token")
    assert token.verdict is Verdict.PROBLEM and token.facts["failure"] == "consent"
    assert "consent" in token.finding


def test_need_full_sync_after_an_auth_error_says_why_and_refresh_is_not_retried(world: World) -> None:
    """After an auth error the flag is set with the provider's code; a second diagnose does not call the provider
    again (nothing may be sent for a connection in error) and says the resync waits for the reconnect."""
    world.connect(ANN)
    world.sync()
    _revoke(world)
    run(world, ANN)
    d = run(world, ANN)
    full = d.check("full_sync")
    assert full.verdict is Verdict.PROBLEM and full.facts["need_full_sync"] is True
    assert "authorization failed (invalid_grant" in full.finding and "reconnects" in full.finding
    assert full.facts["last_full_reconcile_at"] is not None
    token = d.check("token")
    assert token.verdict is Verdict.PROBLEM and token.facts["outcome"] == "in_error"
    assert token.next_step == RECONNECT_FIX
    # the code comes from the column mark_auth_error filled, not from the words of the reason
    assert "invalid_grant" in str(token.facts["code"]) and token.facts["code"] == record(world, ANN).auth_error_code
    assert f"({token.facts['code']})" in token.finding


def test_healthy_connection_refreshes_and_stores_the_new_token(world: World) -> None:
    """A working grant refreshes (ok); the refreshed token is stored, so diagnose never leaves a stale one behind."""
    world.connect(ANN)
    world.sync()
    before = record(world, ANN).access_token_enc
    d = run(world, ANN)
    assert d.check("token").verdict is Verdict.OK and d.check("token").facts["outcome"] == "refreshed"
    assert record(world, ANN).access_token_enc != before
    assert d.check("connection").verdict is Verdict.OK
    assert d.check("full_sync").verdict is Verdict.OK and "full reconcile ran" in d.check("full_sync").finding
    assert d.check("pull").verdict is Verdict.OK
    assert d.check("recent_errors").verdict is Verdict.OK


def test_need_full_sync_pending_after_connect_is_a_warning(world: World) -> None:
    """Right after connecting, before the first round, the flag is set with its reason: a warning, not a problem."""
    world.connect(ANN)
    full = run(world, ANN).check("full_sync")
    assert full.verdict is Verdict.WARNING and "connected: upcoming events are added" in full.finding


def test_workers_not_running_is_a_problem_and_running_ones_are_seen(world: World) -> None:
    """No worker heartbeat: nothing syncs (problem, with how to start them); a running worker makes it ok."""
    world.connect(ANN)
    world.sync()
    workers = run(world, ANN).check("workers")
    assert workers.verdict is Verdict.PROBLEM and "calsync worker" in (workers.next_step or "")
    with working(world.runtime):
        wait_for(lambda: run(world, ANN).check("workers").verdict is Verdict.OK, what="a live worker to be seen")
        assert run(world, ANN).check("workers").facts["alive"] == 1


def test_work_waiting_without_a_worker_is_a_pull_warning(world: World) -> None:
    """A connection due for minutes that no worker picks up warns that the pull is not running."""
    world.connect(ANN)
    world.sync()
    world.rsvp(ANN, world.event(), world_status("accepted"))
    later = world.ctx.now() + _minutes(10)
    pull = run(world, ANN, at=later).check("pull")
    assert pull.verdict is Verdict.WARNING and "no worker has picked it up" in pull.finding


def test_push_channel_missing_is_a_warning_when_push_is_on(world: World) -> None:
    """With push notifications on and no channel open, answers made in the calendar wait for the poll: warning."""
    world.connect(ANN)
    world.sync()
    push = run(world, ANN, push_enabled=True).check("push")
    assert push.verdict is Verdict.WARNING and "arrive only with the poll" in push.finding
    kind = "watch channel" if world.provider is Provider.GOOGLE else "subscription"
    assert kind in push.finding
    off = run(world, ANN, push_enabled=False).check("push")
    assert off.verdict is Verdict.OK and "polling" in off.finding


def test_unknown_email_is_bad_input(world: World) -> None:
    """An email nobody has is bad input naming the address (the CLI turns it into exit code 2)."""
    from calsync.errors import InvalidInput

    with pytest.raises(InvalidInput, match="nobody@example.com"):
        run(world, "nobody@example.com")
    with pytest.raises(InvalidInput, match="not an email"):
        run(world, "not-an-email")


def world_status(value: str):  # noqa: ANN201
    from calsync.core.model import RsvpStatus

    return RsvpStatus(value)


def _minutes(n: int):  # noqa: ANN202
    import datetime as dt

    return dt.timedelta(minutes=n)
