"""The CLI refuses text with control characters (or that no database can store) like the API: exit 2, one line
naming the character (issue 13), on SQLite and PostgreSQL.

argv cannot carry a NUL, but it can carry control characters, and bytes that are not UTF-8 arrive as lone
surrogates (Python's ``surrogateescape``), which no database can encode.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from calsync.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("email", "words"),
    [
        ("ann\x07@example.org", "control character U+0007"),
        ("ann\x1b[31m@example.org", "control character U+001B"),
        ("ann\udcff@example.org", "unpaired surrogate (U+DCFF)"),
        ("ann\x00@example.org", "NUL character (U+0000)"),
    ],
    ids=["bell", "escape", "not UTF-8", "NUL (in-process only)"],
)
def test_control_characters_in_an_email_are_exit_2_and_one_line(
    db_url: str, tmp_path: Path, email: str, words: str
) -> None:
    env = {
        "CALSYNC_DATA_DIR": str(tmp_path),
        "CALSYNC_DATABASE_URL": db_url,
        "CALSYNC_PUSH_NOTIFICATIONS": "false",
        "CALSYNC_TOKEN_KEYS": "k1=" + Fernet.generate_key().decode(),  # the CLI refuses to invent a key file
    }
    for command in (["diagnose", "--user", email], ["resync", "--user", email]):
        result = runner.invoke(app, command, env=env)
        assert result.exit_code == 2, (result.stdout, result.stderr)
        assert result.stderr.strip().count("\n") == 0, result.stderr
        assert words in result.stderr and "remove it" in result.stderr
