"""The demo and the CLI as an operator meets them: one demo per data directory, a taken port, data that survives a
restart, other commands reaching the demo's data through the one line it prints, commands that refuse a wrong
setting without creating anything, and `calsync config` (values, masks, sources) with its generated reference."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from calsync import config_report
from tests.processes import CalsyncProcess, clean_env

ROOT = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r"cs_[A-Za-z0-9_-]{43}")


def _env(**extra: str) -> dict[str, str]:
    return clean_env(COLUMNS="250", **extra)


def _run(args: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "calsync", *args], capture_output=True, text=True, timeout=120, env=env, cwd=cwd
    )


class Demo(CalsyncProcess):
    """A `calsync demo` process (what it prints to the terminal, stderr included)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        super().__init__(["demo", *args], env, stream="stdout")

    @property
    def out(self) -> str:
        return self.output

    def ready(self) -> str:
        url = self.wait_for(r"calsync demo on (http://127\.0\.0\.1:\d+)").group(1)
        self.wait_healthy(url)
        return url


@pytest.fixture
def demos() -> Iterator[list[Demo]]:
    started: list[Demo] = []
    yield started
    for d in started:
        d.stop()


def _snapshot(directory: Path) -> dict[str, bytes]:
    """Every file that matters in the demo directory and its bytes (the database is compared by its rows)."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.name.startswith("calsync.db") and p.name != "demo.lock"
    }


@pytest.mark.slow
def test_demo_is_one_per_data_dir_moves_off_a_taken_port_and_keeps_its_data(
    tmp_path: Path, demos: list[Demo]
) -> None:
    """A taken port moves the demo to a free one; a second demo says so in one line, exit 2, and changes nothing;
    after a restart the data is still there; `calsync status` reaches it through the printed export line."""
    env = _env(CALSYNC_DATA_DIR=str(tmp_path))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        first = Demo(["--port", str(port), "--sandbox-port", "0"], env)
        demos.append(first)
        url = first.ready()
    assert not url.endswith(f":{port}"), "the demo moved off the taken port"
    first.wait_for(r"export CALSYNC_DATA_DIR=")
    organizer = list(dict.fromkeys(TOKEN.findall(first.out)))[1]  # the table's order: admin, organizer, members
    demo_dir = tmp_path / "demo"
    before = _snapshot(demo_dir)

    second = _run(["demo", "--port", "0", "--sandbox-port", "0"], env)
    lines = [line for line in second.stderr.splitlines() if line.strip()]
    assert second.returncode == 2 and len(lines) == 1, second.stderr
    assert "already running" in lines[0] and str(demo_dir) in lines[0]
    assert _snapshot(demo_dir) == before
    assert httpx.get(url + "/healthz", timeout=10).status_code == 200, "the first demo still serves"

    created = httpx.post(
        url + "/api/v1/events",
        headers={"Authorization": f"Bearer {organizer}"},
        json={"title": "Kept across restarts", "start": "2031-05-01T10:00:00", "end": "2031-05-01T11:00:00"},
        timeout=10,
    )
    assert created.status_code == 201, created.text

    export = first.wait_for(r"export (CALSYNC_DATA_DIR=\S+)").group(1)
    name, value = export.split("=", 1)
    status = _run(["status", "--json"], _env(**{name: value}))
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["workers_alive"] == 1, status.stdout

    first.stop()
    again = Demo(["--port", "0", "--sandbox-port", "0"], env)
    demos.append(again)
    url = again.ready()
    assert "kept the data of the last run" in again.out
    again.wait_for(r"export CALSYNC_DATA_DIR=")
    tokens = list(dict.fromkeys(TOKEN.findall(again.out)))
    assert organizer not in tokens, "fresh tokens are printed (the first run's exist only as hashes)"
    listed = httpx.get(url + "/api/v1/events", headers={"Authorization": f"Bearer {tokens[1]}"}, timeout=10)
    titles = [e["title"] for e in listed.json()]
    assert "Kept across restarts" in titles


@pytest.mark.parametrize(
    "args",
    [["status"], ["diagnose", "--user", "max@example.org"], ["resync", "--all"], ["keys", "rotate"], ["worker"]],
)
def test_a_command_with_a_wrong_data_dir_creates_nothing_and_names_the_setting(tmp_path: Path, args: list[str]) -> None:
    """Pointed at a data directory with no database, a command says which setting to fix (one line, exit 2) and
    leaves no empty database and no new key file behind."""
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    result = _run(args, _env(CALSYNC_DATA_DIR=str(empty)))
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "CALSYNC_DATA_DIR" in lines[0] and "no database" in lines[0]
    assert list(empty.iterdir()) == []


def test_a_database_without_a_schema_is_refused_not_migrated(tmp_path: Path) -> None:
    """`calsync status` on a database calsync never migrated refuses (exit 2) instead of failing on a missing
    table: it names CALSYNC_DATABASE_URL and 'calsync db upgrade'."""
    url = f"sqlite:///{tmp_path / 'other.db'}"
    import sqlite3

    sqlite3.connect(tmp_path / "other.db").close()
    (tmp_path / "token-keys.json").write_text("{}")
    result = _run(["status"], _env(CALSYNC_DATA_DIR=str(tmp_path), CALSYNC_DATABASE_URL=url))
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "no calsync schema" in lines[0] and "CALSYNC_DATABASE_URL" in lines[0]


def test_config_prints_values_masked_and_where_each_came_from(tmp_path: Path) -> None:
    """Environment, the working directory's .env, the data directory's calsync.env and defaults are told apart;
    secrets and the database password never appear."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "calsync.env").write_text("CALSYNC_MICROSOFT_CLIENT_ID=from-data-dir\nCALSYNC_POLL_INTERVAL=99\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / ".env").write_text("CALSYNC_POLL_INTERVAL=12\nCALSYNC_TOKEN_KEYS=k1=dotenv-key-s3cret\n")
    env = _env(
        CALSYNC_DATA_DIR=str(data),
        CALSYNC_GOOGLE_CLIENT_SECRET="env-s3cret-value",
        CALSYNC_DATABASE_URL="postgresql+psycopg://calsync:pw-s3cret@db.internal:5432/calsync",
    )
    result = _run(["config"], env, cwd=work)
    assert result.returncode == 0, result.stderr
    rows = {
        cells[0]: cells[1:]
        for line in result.stdout.splitlines()
        if len(cells := [c.strip() for c in re.split(r"[│┃]", line) if c.strip()]) == 3
    }
    assert rows["CALSYNC_GOOGLE_CLIENT_SECRET"] == [config_report.MASK, "environment"]
    assert rows["CALSYNC_POLL_INTERVAL"][0] == "12.0" and rows["CALSYNC_POLL_INTERVAL"][1].startswith(".env")
    assert rows["CALSYNC_MICROSOFT_CLIENT_ID"] == ["from-data-dir", str(data / "calsync.env")]
    assert rows["CALSYNC_TOKEN_KEYS"][0] == config_report.MASK
    assert rows["CALSYNC_HOST"] == ["127.0.0.1", "default"]
    assert "db.internal" in rows["CALSYNC_DATABASE_URL"][0]
    for secret in ("env-s3cret-value", "pw-s3cret", "dotenv-key-s3cret"):
        assert secret not in result.stdout + result.stderr


def test_configuration_doc_is_generated_from_settings_and_current() -> None:
    """docs/configuration.md is exactly what `calsync config --markdown` prints, and names every setting (run
    that command to update it after adding one)."""
    from calsync.config import Settings

    doc = (ROOT / "docs" / "configuration.md").read_text()
    for name, field in Settings.model_fields.items():
        assert f"`{config_report.variable(name)}`" in doc, f"{name} is missing from docs/configuration.md"
        assert field.description, f"Settings.{name} has no description for docs/configuration.md"
    assert "`CALSYNC_SANDBOX_MAP`" in doc
    assert doc == config_report.markdown(), (
        "docs/configuration.md is out of date: run `calsync config --markdown > docs/configuration.md`"
    )


def test_a_worker_whose_metrics_port_is_taken_says_so_in_one_line(tmp_path: Path) -> None:
    """`calsync worker --metrics-port` on a taken port ends with exit 2 and one line, not a traceback."""
    from cryptography.fernet import Fernet

    env = _env(CALSYNC_DATA_DIR=str(tmp_path), CALSYNC_TOKEN_KEYS=f"k1={Fernet.generate_key().decode()}")
    assert _run(["db", "upgrade"], env).returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        result = _run(["worker", "--metrics-port", str(taken.getsockname()[1])], env)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "cannot serve metrics" in lines[0] and "--metrics-port" in lines[0]
