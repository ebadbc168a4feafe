"""Password hashing: argon2id at the cost the settings name (production defaults unchanged; tests run cheap)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from calsync.config import Settings
from calsync.services.passwords import PasswordCost, Passwords
from calsync.services.runtime import build_runtime
from calsync.store.db import Database

PARAMS = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$")


def params_of(password_hash: str) -> tuple[int, int, int]:
    found = PARAMS.match(password_hash)
    assert found, password_hash
    m, t, p = (int(g) for g in found.groups())
    return m, t, p


def test_the_default_cost_is_argon2_cffis_default() -> None:
    """Without settings (and in production, where nothing sets them) passwords cost what argon2-cffi recommends."""
    import argon2

    fields = Settings.model_fields
    assert fields["password_time_cost"].default == argon2.DEFAULT_TIME_COST
    assert fields["password_memory_kib"].default == argon2.DEFAULT_MEMORY_COST
    assert fields["password_parallelism"].default == argon2.DEFAULT_PARALLELISM
    defaults = PasswordCost(argon2.DEFAULT_TIME_COST, argon2.DEFAULT_MEMORY_COST, argon2.DEFAULT_PARALLELISM)
    assert PasswordCost() == defaults
    hashed = Passwords().hash("correct horse battery")
    assert params_of(hashed) == (argon2.DEFAULT_MEMORY_COST, argon2.DEFAULT_TIME_COST, argon2.DEFAULT_PARALLELISM)


def test_the_runtime_hashes_at_the_configured_cost(tmp_path: Path, database: Database) -> None:
    settings = Settings(data_dir=tmp_path, password_time_cost=2, password_memory_kib=1024, password_parallelism=2)
    runtime = build_runtime(settings, database=database)
    try:
        hashed = runtime.service.passwords.hash("correct horse battery")
    finally:
        runtime.close()
    assert params_of(hashed) == (1024, 2, 2)
    assert runtime.service.passwords.verify(hashed, "correct horse battery")


def test_a_stored_hash_verifies_whatever_the_current_cost() -> None:
    """A hash carries its own parameters: changing the setting never locks anyone out."""
    old = Passwords(PasswordCost(time_cost=1, memory_kib=8, parallelism=1)).hash("correct horse battery")
    current = Passwords(PasswordCost(time_cost=2, memory_kib=256, parallelism=2))
    assert current.verify(old, "correct horse battery")
    assert not current.verify(old, "wrong horse battery")


def test_no_hash_or_a_broken_hash_never_verifies() -> None:
    passwords = Passwords(PasswordCost(time_cost=1, memory_kib=8, parallelism=1))
    assert not passwords.verify(None, "calsync-dummy-password")
    assert not passwords.verify("not-a-hash", "anything")


def test_too_little_memory_for_the_lanes_is_refused_at_startup(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="CALSYNC_PASSWORD_MEMORY_KIB must be at least 8 x"):
        Settings(data_dir=tmp_path, password_memory_kib=16, password_parallelism=4)
