"""`calsync diagnose`, `calsync status` and `calsync resync` as support runs them: the CLI opens the same
database, key file and sandbox as the world (CALSYNC_* settings), prints a table or JSON, never a token, and ends
with exit code 0 (no problem), 1 (a problem found) or 2 (bad input, one line)."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from calsync.cli import app
from calsync.core.connection import Provider
from calsync.core.model import RsvpStatus
from tests.diagnose.conftest import cli_env, poll, record, stored_tokens
from tests.engine.conftest import World
from tests.engine.live import wait_for, working

ANN, BOB = "ann@example.com", "bob@example.com"
A = RsvpStatus.ACCEPTED
runner = CliRunner()


def calsync(world: World, *args: str) -> Any:
    return runner.invoke(app, list(args), env=cli_env(world))


def _accepted_and_synced(world: World, email: str = ANN) -> int:
    world.connect(email)
    ev = world.event()
    world.rsvp(email, ev, A)
    world.sync()
    return ev


def test_json_shape_and_exit_1_when_a_problem_is_found(world: World) -> None:
    """--json gives the person, the verdict and every check with its verdict, finding, next step and facts; with no
    worker running that is a problem, so the exit code is 1."""
    ev = _accepted_and_synced(world)
    result = calsync(world, "diagnose", "--user", ANN, "--event", str(ev), "--json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"person", "organization", "event_id", "checked_at", "verdict", "checks"}
    assert doc["person"]["email"] == ANN and doc["event_id"] == ev and doc["verdict"] == "problem"
    keys = [c["key"] for c in doc["checks"]]
    assert keys == [
        "events_module",
        "connection",
        "full_sync",
        "token",
        "pull",
        "push",
        "workers",
        "recent_errors",
        "rsvp",
        "event",
    ]
    for check in doc["checks"]:
        assert set(check) == {"key", "title", "verdict", "finding", "next_step", "facts"}
        assert check["verdict"] in ("ok", "warning", "problem")
    by_key = {c["key"]: c for c in doc["checks"]}
    assert by_key["workers"]["verdict"] == "problem"
    assert by_key["event"]["verdict"] == "ok" and by_key["event"]["facts"]["present"] is True


def test_exit_0_and_a_table_when_all_is_well(world: World) -> None:
    """With a worker alive and the entry in the calendar, the table shows every check ok and the exit code is 0."""
    ev = _accepted_and_synced(world)
    with working(world.runtime):
        wait_for(lambda: not record(world, ANN).due_at or record(world, ANN).due_at > world.ctx.now(), what="idle")
        result = calsync(world, "diagnose", "--user", ANN, "--event", str(ev))
    assert result.exit_code == 0, result.output
    assert "overall: ok" in result.stdout
    for title in ("Calendar connection", "Token refresh", "Sync workers", "The event in the calendar"):
        assert title in result.stdout
    assert "problem" not in result.stdout


def test_bad_input_is_exit_2_and_one_line(world: World) -> None:
    """An unknown email or event id ends with exit code 2 and one line on stderr saying what to check."""
    world.connect(ANN)
    unknown = calsync(world, "diagnose", "--user", "nobody@example.com")
    assert unknown.exit_code == 2 and unknown.stdout == ""
    assert unknown.stderr.strip().count("\n") == 0 and "nobody@example.com" in unknown.stderr
    no_event = calsync(world, "diagnose", "--user", ANN, "--event", "424242")
    assert no_event.exit_code == 2 and "no event with id 424242" in no_event.stderr
    assert no_event.stderr.strip().count("\n") == 0
    assert calsync(world, "diagnose", "--user", ANN, "--event", "soon").exit_code == 2


def test_no_token_in_any_output(world: World) -> None:
    """Neither the table nor the JSON ever contains an access or refresh token, old (before the diagnose's refresh)
    or new (after it), sealed or opened."""
    ev = _accepted_and_synced(world)
    before = stored_tokens(world, ANN)
    sealed_before = [record(world, ANN).access_token_enc, record(world, ANN).refresh_token_enc]
    outputs = [
        calsync(world, "diagnose", "--user", ANN, "--event", str(ev), "--json").output,
        calsync(world, "diagnose", "--user", ANN, "--event", str(ev)).output,
        calsync(world, "status", "--json").output,
        calsync(world, "status").output,
    ]
    after = stored_tokens(world, ANN)
    sealed_after = [record(world, ANN).access_token_enc, record(world, ANN).refresh_token_enc]
    assert before[0] != after[0]  # the diagnose really refreshed
    secrets = [s for s in before + after + sealed_before + sealed_after if s]
    assert len(secrets) >= 4
    for out in outputs:
        assert out
        for secret in secrets:
            assert secret not in out
            assert secret[:24] not in out  # not even a folded-over piece of one


def test_status_counts_connections_errors_and_workers(world: World) -> None:
    """status shows connections by state, the auth error of a revoked grant among recent errors, and no workers."""
    _accepted_and_synced(world, ANN)
    _accepted_and_synced(world, BOB)
    world.emulator.revoke_grants(BOB) if world.provider is Provider.GOOGLE else world.emulator.revoke(BOB)
    assert calsync(world, "diagnose", "--user", BOB).exit_code == 1
    result = calsync(world, "status", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["connections"] == {"connected": 1, "error": 1, "disconnected": 0}
    assert doc["workers_alive"] == 0
    assert any(e["account"] == BOB for e in doc["recent_errors"])
    table = calsync(world, "status")
    assert "none running" in table.stdout and "connections error" in table.stdout


def test_resync_user_wait_brings_back_a_deleted_entry(world: World) -> None:
    """resync --user --wait runs the full reconcile here and reports it; the entry the person deleted is back."""
    _accepted_and_synced(world)
    world.delete_in_calendar(ANN, world.entries(ANN)[0])
    poll(world)
    assert world.entries(ANN) == []
    result = calsync(world, "resync", "--user", ANN, "--wait")
    assert result.exit_code == 0, result.output
    assert "ok: full round: 1 created" in result.stdout
    assert len(world.entries(ANN)) == 1


def test_resync_all_requests_every_connected_calendar(world: World) -> None:
    """resync --all asks for a full resync of every connected calendar (and without --wait leaves it to workers)."""
    _accepted_and_synced(world, ANN)
    _accepted_and_synced(world, BOB)
    result = calsync(world, "resync", "--all")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("requested") == 2
    assert record(world, ANN).resync_requested and record(world, BOB).resync_requested


def test_resync_refuses_a_connection_in_error_and_needs_one_target(world: World) -> None:
    """A resync cannot run while the grant is broken (exit 1, the reason shown); --user and --all are exclusive
    and one is required (exit 2)."""
    _accepted_and_synced(world, ANN)
    world.emulator.revoke_grants(ANN) if world.provider is Provider.GOOGLE else world.emulator.revoke(ANN)
    calsync(world, "diagnose", "--user", ANN)
    refused = calsync(world, "resync", "--user", ANN)
    assert refused.exit_code == 1 and "refused" in refused.stdout and "resync cannot run" in refused.stdout
    assert calsync(world, "resync").exit_code == 2
    assert calsync(world, "resync", "--user", ANN, "--all").exit_code == 2
