"""The sandbox in its own process: ``calsync sandbox`` as a subprocess, driven through its admin API.

Throughput benchmarks measure calsync, so the emulators must not share calsync's interpreter (and its GIL) on a
2-core machine: in one process, every request calsync sends is also parsed, handled and answered by threads that
take the same lock as calsync's worker threads. Here the sandbox is the command an operator runs
(docs/sandbox.md), on its own interpreter, and the benchmark changes it only the way any client can: the admin
HTTP API (``/admin/faults/{provider}``, ``/admin/google/quotas``, ``/admin/clock/advance``, ...).
"""

from __future__ import annotations

import json
import os
import select
import signal
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

import calsync


class SandboxProcess:
    """``python -m calsync sandbox --port 0 --auto-consent`` with its data dir in ``data_dir``."""

    def __init__(self, data_dir: Path, *, seed: int = 7, timeout: float = 30.0) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.log_path = data_dir / "sandbox.log"
        # the same calsync this process imported (a checkout other than the installed one, when benchmarking one)
        source = str(Path(calsync.__file__).resolve().parent.parent)
        env = {**os.environ, "CALSYNC_DATA_DIR": str(data_dir),
               "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))}
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "calsync", "sandbox", "--port", "0", "--auto-consent", "--seed", str(seed)],
            stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL, env=env, cwd=data_dir, text=True,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line.strip():
            self.stop()
            raise RuntimeError(f"`calsync sandbox` printed no endpoint map within {timeout:.0f} s "
                               f"(see {self.log_path})")
        self.endpoints: dict[str, Any] = json.loads(line)
        self.ca_bundle = str(self.endpoints["ca_bundle"])
        self.admin = httpx.Client(
            base_url=str(self.endpoints["admin"]), verify=ssl.create_default_context(cafile=self.ca_bundle),
            trust_env=False, timeout=60.0,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    # ---- admin API ------------------------------------------------------------------------------------------
    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        r = self.admin.request(method, path, json=body)
        if r.status_code >= 400:
            raise RuntimeError(f"sandbox admin {method} {path}: {r.status_code} {r.text[:300]}")
        return r.json()

    def reset(self) -> None:
        """Every account, grant, event, fault and quota back to a fresh sandbox (clients too)."""
        self.call("POST", "/reset")

    def register_clients(self, google: tuple[str, str], microsoft: tuple[str, str], redirect_base: str) -> None:
        self.call("POST", "/google/clients", {"client_id": google[0], "client_secret": google[1],
                                               "redirect_uris": [f"{redirect_base}/oauth/google/callback"]})
        self.call("POST", "/microsoft/clients", {"client_id": microsoft[0], "client_secret": microsoft[1],
                                                  "redirect_uris": [f"{redirect_base}/oauth/microsoft/callback"]})

    def set_faults(self, provider: str, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.call("PUT", f"/faults/{provider}", fields)
        return result

    def set_latency(self, ms: float) -> None:
        for provider in ("google", "microsoft"):
            self.set_faults(provider, latency_ms=ms)

    def advance_clock(self, seconds: float) -> None:
        self.call("POST", "/clock/advance", {"seconds": seconds})

    def google_quotas(self, **limits: int) -> dict[str, int]:
        result: dict[str, int] = self.call("PUT", "/google/quotas", dict(limits))
        return result

    def google_tokens(self, email: str, client_id: str, scopes: list[str]) -> dict[str, Any]:
        result: dict[str, Any] = self.call("POST", f"/google/accounts/{quote(email)}/tokens",
                                           {"client_id": client_id, "scopes": scopes})
        return result

    def events(self, provider: str, email: str) -> list[dict[str, Any]]:
        """The account's events as the sandbox's own state has them ([] for an account it does not know)."""
        r = self.admin.get(f"/{provider}/accounts/{quote(email)}/events")
        if r.status_code in (400, 404):
            return []
        r.raise_for_status()
        items: list[dict[str, Any]] = r.json()
        return items

    # ---- the process ---------------------------------------------------------------------------------------
    def cpu_seconds(self) -> float:
        """User + system CPU the sandbox process has used (``/proc/<pid>/stat``)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Ctrl-C (the command stops its server), then a kill if it has not exited within 10 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if hasattr(self, "admin"):
            self.admin.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()
