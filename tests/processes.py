"""calsync as the operator runs it: ``python -m calsync …`` as a separate process, its output read in a thread so
that every wait on it has a bound (a line printed, /healthz answering) and a process that died says why."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

BOUND = 90.0
"""Seconds any wait on a process may take: a cold start is 2-3 s on a quiet machine, but tens of seconds were
measured on the shared 2-core machine with the suite's other workers beside it."""


def wait_until(check: Callable[[], Any], what: str, *, timeout: float = BOUND, every: float = 0.1) -> Any:
    """Call ``check`` until it returns something truthy, at most ``timeout`` seconds (a bound, never a fixed
    sleep); its value is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment less every ``CALSYNC_*`` variable of this shell (the test says what the process sees)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALSYNC_")}
    return {**env, "PYTHONUNBUFFERED": "1", "COLUMNS": "400", **extra}


class CalsyncProcess:
    """``python -m calsync *args``; ``stream`` names what is read (``stderr``, where logs go, or ``stdout`` with
    stderr merged into it, for commands that print to the terminal)."""

    def __init__(self, args: list[str], env: dict[str, str], *, stream: str = "stderr") -> None:
        self.args = args
        merged = stream == "stdout"
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "calsync", *args],
            stdout=subprocess.PIPE if merged else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if merged else subprocess.PIPE,
            text=True,
            env={"PYTHONUNBUFFERED": "1", **env},
        )
        self._source = self.popen.stdout if merged else self.popen.stderr
        self._text = ""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def output(self) -> str:
        with self._lock:
            return self._text

    def _read(self) -> None:
        assert self._source is not None
        for line in self._source:
            with self._lock:
                self._text += line

    def wait_for(self, pattern: str) -> re.Match[str]:
        """The first match of ``pattern`` in the output, waiting up to :data:`BOUND` seconds for it."""
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output)
            if found:
                return found
            if self.popen.poll() is not None:
                raise AssertionError(f"calsync {self.args} exited {self.popen.returncode}: {self.output[-3000:]}")
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not printed by calsync {self.args} within {BOUND} s: {self.output[-3000:]}")

    def wait_healthy(self, url: str) -> None:
        """Wait until ``url``/healthz answers 200 (the socket listens before the app is ready)."""
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise AssertionError(f"calsync {self.args} exited {self.popen.returncode}: {self.output[-3000:]}")
            try:
                if httpx.get(url + "/healthz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{url}/healthz did not answer within {BOUND} s: {self.output[-3000:]}")

    def stop(self) -> str:
        """Terminate (kill if it will not stop), then everything it wrote: the reader has read the closed pipe."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._reader.join(timeout=BOUND)
        return self.output
