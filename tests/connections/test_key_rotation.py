"""`calsync keys rotate` while the service runs: requests that use tokens keep succeeding before, during and after
the rotation, every stored token ends up sealed by the new key, and the retired keys leave the key file."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from calsync.cli import app as cli
from calsync.core.connection import Provider
from calsync.crypto import TokenCipher
from calsync.store.connections import ConnectionRepository
from tests.connections.conftest import BASE_URL, World

runner = CliRunner()
BOUND = 60.0  # seconds any wait below may take at most (a hung service fails the test instead of hanging it)


def _cli_env(world: World) -> dict[str, str]:
    return {"CALSYNC_DATA_DIR": str(world.runtime.settings.data_dir), "CALSYNC_DATABASE_URL": world.runtime.db.url,
            "CALSYNC_TOKEN_KEYS": ""}


def _key_file(world: World) -> dict[str, object]:
    return dict(json.loads((Path(world.runtime.settings.data_dir) / "token-keys.json").read_text()))


def _sealed(world: World) -> list[str]:
    with world.runtime.db.session(write=False) as s:
        return [t for _, a, r in ConnectionRepository(s).all_sealed_tokens() for t in (a, r) if t]


def test_rotation_while_the_service_serves(world: World, provider: Provider) -> None:
    """Listing calendars (a token-using request) and token refreshes run in a thread across `keys rotate`."""
    other = Provider.MICROSOFT if provider is Provider.GOOGLE else Provider.GOOGLE
    world.connect("ann", provider)
    world.connect("bob", other)
    old_keys = set(_key_file(world)["keys"])  # type: ignore[arg-type]
    assert {TokenCipher.key_id(t) for t in _sealed(world)} <= old_keys

    results: list[int] = []
    errors: list[BaseException] = []
    progress = threading.Condition()
    stop = threading.Event()
    with world.runtime.db.session(write=False) as s:
        ann_id = ConnectionRepository(s).active_for_person(world.people["ann"].id).id  # type: ignore[union-attr]

    def serve() -> None:
        try:
            with TestClient(world.app, base_url=BASE_URL) as client:
                n = 0
                while not stop.is_set():
                    r = client.get("/api/v1/me/calendar/calendars", headers=world.h("ann" if n % 2 else "bob"))
                    if n % 3 == 0:  # a refresh writes freshly sealed tokens while the rotation reseals them
                        world.runtime.tokens.access_token(ann_id, force_refresh=True)
                    n += 1
                    with progress:
                        results.append(r.status_code)
                        progress.notify_all()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            with progress:
                progress.notify_all()

    def wait_for(count: int) -> None:
        with progress:
            assert progress.wait_for(lambda: len(results) >= count or bool(errors), timeout=BOUND), "service stalled"
        assert not errors, errors

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        wait_for(3)  # serving before
        result = runner.invoke(cli, ["keys", "rotate"], env=_cli_env(world))
        during = len(results)
        wait_for(during + 4)  # and after
    finally:
        stop.set()
        thread.join(BOUND)
    assert not thread.is_alive() and not errors, errors
    assert result.exit_code == 0, result.output
    assert results and set(results) == {200}, results

    keys = _key_file(world)
    new = str(keys["primary"])
    assert new not in old_keys and set(keys["keys"]) == {new}  # type: ignore[arg-type]
    sealed = _sealed(world)
    assert sealed and {TokenCipher.key_id(t) for t in sealed} == {new}
    line = result.output.strip()
    assert "\n" not in line and f"primary key {new}" in line and "retired:" in line
    for old in old_keys:
        assert old in line
    with TestClient(world.app, base_url=BASE_URL) as client:  # still serving, with only the new key left
        for who in ("ann", "bob"):
            assert client.get("/api/v1/me/calendar/calendars", headers=world.h(who)).status_code == 200


def test_keep_old_keeps_the_old_keys(world: World, provider: Provider) -> None:
    """--keep-old re-encrypts everything under the new key but leaves the old keys in the key file."""
    world.connect("ann", provider)
    old_keys = set(_key_file(world)["keys"])  # type: ignore[arg-type]
    result = runner.invoke(cli, ["keys", "rotate", "--keep-old"], env=_cli_env(world))
    assert result.exit_code == 0, result.output
    keys = _key_file(world)
    assert set(keys["keys"]) == old_keys | {keys["primary"]}  # type: ignore[arg-type]
    assert {TokenCipher.key_id(t) for t in _sealed(world)} == {keys["primary"]}
    assert "retired: none" in result.output


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"CALSYNC_TOKEN_KEYS": "nonsense"}, "CALSYNC_TOKEN_KEYS must look like"),
        ({"CALSYNC_DATABASE_URL": "mysql://x/y"}, "unsupported database"),
        ({"CALSYNC_PORT": "not-a-port"}, "CALSYNC_PORT"),
    ],
)
def test_bad_configuration_is_one_line_and_exit_2(tmp_path: Path, env: dict[str, str], says: str) -> None:
    """Bad settings end `keys rotate` with exit code 2 and one line saying what to fix."""
    result = runner.invoke(cli, ["keys", "rotate"], env={"CALSYNC_DATA_DIR": str(tmp_path), **env})
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and says in lines[0], result.output


def test_unmigrated_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """A database without calsync's tables is one line pointing at `calsync db upgrade`, exit code 2."""
    env = {"CALSYNC_DATA_DIR": str(tmp_path), "CALSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
           "CALSYNC_TOKEN_KEYS": ""}
    result = runner.invoke(cli, ["keys", "rotate"], env=env)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "calsync db upgrade" in lines[0], result.output


def test_environment_keys_reseal_under_the_first_key(world: World, provider: Provider) -> None:
    """With CALSYNC_TOKEN_KEYS, rotate reseals every token under the first key listed and retires nothing."""
    from cryptography.fernet import Fernet

    world.connect("ann", provider)
    file_keys = _key_file(world)
    env_keys = ",".join(f"{k}={v}" for k, v in [("fresh", Fernet.generate_key().decode()), *file_keys["keys"].items()])  # type: ignore[union-attr]
    result = runner.invoke(cli, ["keys", "rotate"], env={**_cli_env(world), "CALSYNC_TOKEN_KEYS": env_keys})
    assert result.exit_code == 0, result.output
    assert {TokenCipher.key_id(t) for t in _sealed(world)} == {"fresh"}
    assert "remove the old keys from CALSYNC_TOKEN_KEYS" in result.output
