"""``calsync init`` and ``calsync org …`` on SQLite and PostgreSQL (CALSYNC_DATABASE_URL): an empty database is
installed; an installed one is refused in one line with exit 2 and left exactly as it was; a password comes from
a file or a terminal, never from a pipe; organizations are created (admin invited by link), listed, disabled and
enabled again."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calsync.cli import app
from calsync.config import Settings
from calsync.services import auth
from calsync.services.context import ServiceContext
from calsync.store.db import Database
from calsync.store.migrate import current_revision, head_revision

runner = CliRunner()
PASSWORD = "correct horse battery"
OPERATOR_TOKEN = re.compile(r"cso_[A-Za-z0-9_-]{43}")
LINK = re.compile(r"http://\S+/set-password\?token=[A-Za-z0-9_-]+")


@pytest.fixture
def env(data_dir: Path, db_url: str) -> dict[str, str]:
    return {"CALSYNC_DATA_DIR": str(data_dir), "CALSYNC_DATABASE_URL": db_url, "CALSYNC_SMTP_URL": ""}


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "admin-password"
    path.write_text(PASSWORD + "\n")
    return path


def init(env: dict[str, str], password_file: Path, organization: str = "Acme") -> object:
    return runner.invoke(
        app,
        [
            "init",
            "--organization",
            organization,
            "--admin-email",
            "ada@acme.test",
            "--password-file",
            str(password_file),
        ],
        env=env,
    )


def test_init_installs_an_empty_database(env: dict[str, str], password_file: Path, database: Database) -> None:
    """The organization (Events on), its admin who signs in with the file's password, and an operator token
    printed once that authenticates as an operator."""
    result = init(env, password_file)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    token = OPERATOR_TOKEN.search(result.output)  # type: ignore[attr-defined]
    assert token is not None
    ctx = ServiceContext(db=database)
    admin = auth.sign_in(ctx, "ada@acme.test", PASSWORD, address="127.0.0.1")
    assert admin.role.value == "admin"
    from calsync.services.organizations import authenticate_operator, my_organization

    assert my_organization(ctx, admin).events_enabled
    assert authenticate_operator(ctx, token.group(0)) is not None


def test_init_on_an_installed_database_changes_nothing(
    env: dict[str, str], password_file: Path, snapshot: Callable[[], object]
) -> None:
    assert init(env, password_file).exit_code == 0  # type: ignore[attr-defined]
    before = snapshot()
    result = init(env, password_file, organization="Other")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    lines = result.output.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and "initialized already" in lines[0]
    assert snapshot() == before


def test_init_on_a_fresh_sqlite_file_applies_the_migrations(tmp_path: Path, password_file: Path) -> None:
    """No database at all yet (the default SQLite file): init creates and migrates it."""
    data = tmp_path / "fresh"
    result = init({"CALSYNC_DATA_DIR": str(data), "CALSYNC_DATABASE_URL": ""}, password_file)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    db = Database(Settings(data_dir=data).effective_database_url)
    try:
        assert current_revision(db.engine) == head_revision()
    finally:
        db.dispose()


def test_init_without_a_terminal_or_password_file_is_one_line(tmp_path: Path) -> None:
    """Input is not a terminal and no --password-file: exit 2, one line, and no database file created."""
    data = tmp_path / "none"
    result = runner.invoke(
        app, ["init", "--organization", "Acme", "--admin-email", "ada@acme.test"], env={"CALSYNC_DATA_DIR": str(data)}
    )
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and "--password-file" in result.output
    assert not data.exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--admin-email", "not-an-email"], "email"),
        (["--admin-timezone", "Mars/Olympus"], "Mars/Olympus"),
    ],
)
def test_init_with_bad_input_is_one_line_and_touches_no_database(
    tmp_path: Path, password_file: Path, args: list[str], says: str
) -> None:
    """Checked before anything is created: not even the data directory appears."""
    data = tmp_path / "untouched"
    base = ["init", "--organization", "Acme", "--admin-email", "ada@acme.test", "--password-file", str(password_file)]
    result = runner.invoke(app, base + args, env={"CALSYNC_DATA_DIR": str(data), "CALSYNC_DATABASE_URL": ""})
    assert result.exit_code == 2 and says in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not data.exists()


def test_a_short_password_is_refused_by_the_password_check(env: dict[str, str], tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_text("short\n")
    result = runner.invoke(
        app, ["init", "--organization", "Acme", "--admin-email", "a@acme.test", "--password-file", str(short)], env=env
    )
    assert result.exit_code == 2 and "at least" in result.output


def test_org_create_list_disable_enable(env: dict[str, str], password_file: Path, database: Database) -> None:
    """org create invites the admin with a printed link (no mail server) that sets their password; org list shows
    both organizations; disable stops the admin signing in; enable lets them in again; unknown names exit 2."""
    assert init(env, password_file).exit_code == 0  # type: ignore[attr-defined]
    created = runner.invoke(app, ["org", "create", "Globex", "--admin-email", "gil@globex.test"], env=env)
    assert created.exit_code == 0, created.output
    link = LINK.search(created.output)
    assert link is not None
    ctx = ServiceContext(db=database)
    from calsync.services.password_links import set_password

    set_password(ctx, link.group(0).rpartition("token=")[2], PASSWORD)
    assert auth.sign_in(ctx, "gil@globex.test", PASSWORD, address="127.0.0.1").role.value == "admin"

    listed = runner.invoke(app, ["org", "list", "--json"], env=env)
    assert listed.exit_code == 0
    rows = json.loads(listed.output)
    assert [(r["name"], r["modules"], r["disabled_at"]) for r in rows] == [
        ("Acme", ["events"], None),
        ("Globex", ["events"], None),
    ]
    again = runner.invoke(app, ["org", "create", "globex", "--admin-email", "x@globex.test"], env=env)
    assert again.exit_code == 2 and "exists already" in again.output

    assert runner.invoke(app, ["org", "disable", "Globex"], env=env).exit_code == 0
    from calsync.errors import PermissionDenied

    with pytest.raises(PermissionDenied, match="disabled"):
        auth.sign_in(ctx, "gil@globex.test", PASSWORD, address="127.0.0.1")
    assert auth.sign_in(ctx, "ada@acme.test", PASSWORD, address="127.0.0.1")  # the other organization is not affected
    assert runner.invoke(app, ["org", "enable", "Globex"], env=env).exit_code == 0
    assert auth.sign_in(ctx, "gil@globex.test", PASSWORD, address="127.0.0.1")

    unknown = runner.invoke(app, ["org", "disable", "Nope"], env=env)
    assert unknown.exit_code == 2 and len(unknown.output.strip().splitlines()) == 1


def test_org_token_makes_another_operator_token(env: dict[str, str], password_file: Path, database: Database) -> None:
    assert init(env, password_file).exit_code == 0  # type: ignore[attr-defined]
    result = runner.invoke(app, ["org", "token", "--label", "provisioning"], env=env)
    assert result.exit_code == 0, result.output
    token = OPERATOR_TOKEN.search(result.output)
    from calsync.services.organizations import authenticate_operator

    assert token is not None and authenticate_operator(ServiceContext(db=database), token.group(0)) is not None


def _own_terminal() -> None:
    """In the child: a new session whose controlling terminal is the pty on stdin (getpass reads /dev/tty)."""
    import fcntl
    import os
    import termios

    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_init_asks_for_the_password_on_a_terminal(tmp_path: Path) -> None:
    """Run as a real process on a pseudo-terminal: init prompts (hidden, twice) and the admin signs in with it."""
    import os
    import pty
    import select
    import subprocess
    import sys
    import termios
    import time

    data = tmp_path / "tty"
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "calsync.cli", "init", "--organization", "Acme", "--admin-email", "ada@acme.test"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env={**os.environ, "CALSYNC_DATA_DIR": str(data), "CALSYNC_DATABASE_URL": ""},
        close_fds=True,
        preexec_fn=_own_terminal,  # noqa: PLW1509 (single-threaded child setup: a new session on the pty)
    )
    os.close(secondary)
    seen = b""

    def read_until(marker: bytes, timeout: float = 60.0) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {marker!r} within {timeout}s; got {seen!r}"
            ready, _, _ = select.select([primary], [], [], left)
            if ready:
                try:
                    seen += os.read(primary, 4096)
                except OSError:  # the process ended and closed the terminal
                    break

    def type_when_echo_is_off(text: str) -> None:
        """getpass turns echo off after printing the prompt; typing earlier would be echoed (and is not what
        a person at a terminal does)."""
        deadline = time.monotonic() + 30
        while termios.tcgetattr(primary)[3] & termios.ECHO:
            assert time.monotonic() < deadline, "the prompt never turned echo off"
            time.sleep(0.01)
        os.write(primary, text.encode() + b"\n")

    try:
        read_until(b"password for the administrator:")
        type_when_echo_is_off(PASSWORD)
        read_until(b"Repeat for confirmation:")
        type_when_echo_is_off(PASSWORD)
        read_until(b"cso_")
        assert process.wait(timeout=60) == 0, seen
    finally:
        process.kill()
        os.close(primary)
    assert PASSWORD.encode() not in seen  # the prompt did not echo it
    db = Database(Settings(data_dir=data).effective_database_url)
    try:
        assert auth.sign_in(ServiceContext(db=db), "ada@acme.test", PASSWORD, address="127.0.0.1").role.value == "admin"
    finally:
        db.dispose()
