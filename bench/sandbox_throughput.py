"""How many simple requests per second the sandbox serves over HTTPS (issue 3: at least 2,000 on 2 cores).

The sandbox runs in this process (one Python event loop, as ``calsync sandbox`` runs it); the load comes from
``wrk`` (C, apt package ``wrk``) in another process, with keep-alive connections, so the two share the machine's
two cores the way calsync and the sandbox do in the benchmarks of the sync engine. Quotas and throttling are
lifted so the figure is the server's speed, not the emulated quota.

    .venv/bin/python -m bench.sandbox_throughput [--seconds 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from bench.common import git_revision, write_result
from calsync.sandbox.app import Sandbox
from calsync.sandbox.server import start_in_thread

CLIENT = "bench-client"
SECRET = "bench-secret"
REDIRECT = "http://127.0.0.1:9/cb"


def _wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "requests_per_second": rps,
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else -1.0,
    }


def _microsoft_token(http: httpx.Client, base: str, email: str) -> str:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    r = http.get(f"{base}/common/oauth2/v2.0/authorize", params={
        "client_id": CLIENT, "response_type": "code", "redirect_uri": REDIRECT, "state": "s", "login_hint": email,
        "scope": "Calendars.ReadWrite offline_access openid", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    r = http.post(f"{base}/common/oauth2/v2.0/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": CLIENT,
        "client_secret": SECRET, "code_verifier": verifier, "scope": "Calendars.ReadWrite offline_access"})
    return str(r.json()["access_token"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("this benchmark needs wrk: apt-get install wrk")

    sandbox = Sandbox(auto_consent=True)
    with tempfile.TemporaryDirectory() as tmp:
        running = start_in_thread(sandbox, Path(tmp))
        base = running.base_url
        g, m = sandbox.google, sandbox.microsoft
        g.register_client(CLIENT, SECRET, [REDIRECT])
        g.set_quotas(per_user=10**9, per_project=10**9)
        m.register_client(CLIENT, SECRET, [REDIRECT])
        m.set_throttling(mailbox_concurrency=10**6, requests_per_window=10**9)
        with httpx.Client(verify=str(running.tls.ca_cert), trust_env=False) as http:
            gtoken = g.grant_tokens("bench@example.com", CLIENT, ["https://www.googleapis.com/auth/calendar"])[
                "access_token"]
            gauth = {"Authorization": f"Bearer {gtoken}"}
            ev = http.post(f"{base}/google/calendar/v3/calendars/primary/events", headers=gauth, json={
                "summary": "bench", "start": {"dateTime": "2026-12-01T10:00:00Z"},
                "end": {"dateTime": "2026-12-01T11:00:00Z"}}).json()
            mtoken = _microsoft_token(http, base, "bench@example.com")
            mauth = {"Authorization": f"Bearer {mtoken}"}
            mev = http.post(f"{base}/graph/v1.0/me/events", headers=mauth, json={
                "subject": "bench", "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
                "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": "UTC"}}).json()
        cases = {
            "google events.get": (f"{base}/google/calendar/v3/calendars/primary/events/{ev['id']}", gauth),
            "graph GET /me/events/{id}": (f"{base}/graph/v1.0/me/events/{mev['id']}", mauth),
            "identity openid-configuration": (f"{base}/common/v2.0/.well-known/openid-configuration", {}),
        }
        results = {}
        for name, (url, headers) in cases.items():
            results[name] = _wrk(url, headers, args.seconds, args.connections)
            print(f"{name:32s} {results[name]['requests_per_second']:8.0f} req/s  p99 {results[name]['p99_ms']:.1f} ms"
                  f"  non-2xx {results[name]['non_2xx']:.0f}")
        running.stop()
    path = write_result("sandbox_throughput", {
        "revision": git_revision(), "seconds": args.seconds, "connections": args.connections,
        "target_requests_per_second": 2000, "results": results,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
