"""1 vs 2 ``calsync worker`` processes on PostgreSQL: entries written per second for the same backlog (issue 5).

The sandbox runs in this process over HTTPS (100 ms added per API request) with calsync's OAuth clients
registered; its endpoint map goes to the workers as ``CALSYNC_SANDBOX_MAP``, with the client ids and secrets,
the database URL (a fresh database on CALSYNC_TEST_POSTGRES_URL's server) and the data directory holding the
token key file. This process connects P people through the real flow, lets their first rounds finish, and makes
P x E entries due (each person accepts E events) with the due times parked in the future. Then it starts N
``calsync worker`` subprocesses (default settings: 8 connections at once), waits until each has registered its
heartbeat, makes the whole backlog due in one UPDATE, and times until the store records every entry as written.

Microsoft is the main case: Graph's limits are per mailbox (4 concurrent, 10,000 per 10 min), so the figure is
the workers' own capacity. Google is shown too: its 10,000/min per-project quota is shared between the live
workers (each takes 1/N of it), so at most about 162 entries/s in total whatever the number of workers.

    .venv/bin/python -m bench.workers_scaling [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from bench.common import git_revision, write_result
from bench.figures import figure
from bench.harness import (
    GOOGLE_CLIENT,
    LATENCY_MS,
    MICROSOFT_CLIENT,
    PostgresDatabase,
    Stack,
    postgres_server_url,
    stack,
    wait_for,
)
from calsync.core.connection import Provider
from calsync.core.model import RsvpStatus
from calsync.store.sync_models import ConnectionRow, WorkerRow

CALSYNC = Path(sys.executable).with_name("calsync")


def _worker_env(s: Stack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALSYNC_")}
    env.update({
        "CALSYNC_DATABASE_URL": s.database_url,
        "CALSYNC_DATA_DIR": str(s.data_dir),
        "CALSYNC_SANDBOX_MAP": str(s.sandbox_map),
        "CALSYNC_BASE_URL": s.runtime.settings.effective_base_url,
        "CALSYNC_GOOGLE_CLIENT_ID": GOOGLE_CLIENT.client_id,
        "CALSYNC_GOOGLE_CLIENT_SECRET": GOOGLE_CLIENT.client_secret,
        "CALSYNC_MICROSOFT_CLIENT_ID": MICROSOFT_CLIENT.client_id,
        "CALSYNC_MICROSOFT_CLIENT_SECRET": MICROSOFT_CLIENT.client_secret,
        "CALSYNC_PUSH_NOTIFICATIONS": "false",
        "CALSYNC_POLL_INTERVAL": "3600",
        "CALSYNC_LOG_LEVEL": "WARNING",
    })
    return env


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(server_url: str, provider: Provider, workers: int, people_n: int, events_n: int) -> dict[str, Any]:
    pg = PostgresDatabase(server_url)
    try:
        with stack(database_url=pg.url) as s:
            emails = [f"s{i:03d}@{provider.value}.bench.example" for i in range(people_n)]
            s.connect_many(emails, provider)
            s.settle()
            event_ids = [s.event(f"Scale event {k}", days=2 + k % 20, hour=8 + k % 12) for k in range(events_n)]
            for email in emails:
                for event_id in event_ids:
                    s.rsvp(email, event_id, RsvpStatus.ACCEPTED)
            later = s.runtime.service.now() + dt.timedelta(days=1)
            with s.runtime.db.session() as session:
                session.execute(update(ConnectionRow).values(due_at=later))
            s.fresh_quota_windows()
            s.set_latency(LATENCY_MS)
            total = people_n * events_n
            procs = [subprocess.Popen([str(CALSYNC), "worker"], env=_worker_env(s), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE) for _ in range(workers)]
            try:
                def live() -> int:
                    with s.runtime.db.session(write=False) as session:
                        return int(session.scalar(select(func.count()).select_from(WorkerRow)) or 0)

                wait_for(lambda: live() >= workers, timeout=60, what="the workers' heartbeats", every=0.1)
                cpu0 = [_cpu_seconds(p.pid) for p in procs]
                with s.runtime.db.session() as session:
                    session.execute(update(ConnectionRow).values(due_at=s.runtime.service.now()))
                start = time.monotonic()
                wait_for(lambda: s.entry_rows() >= total, timeout=900, what="the backlog", every=0.05)
                elapsed = time.monotonic() - start
                cpu = [round(_cpu_seconds(p.pid) - c, 1) for p, c in zip(procs, cpu0, strict=True)]
            finally:
                for p in procs:
                    p.send_signal(signal.SIGTERM)
                for p in procs:
                    try:
                        p.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        p.kill()
            per_person = [len(s.entries(e, provider)) for e in emails]
            return {
                "provider": provider.value, "workers": workers, "people": people_n, "events_each": events_n,
                "entries": total, "seconds": round(elapsed, 2), "entries_per_second": round(total / elapsed, 1),
                "worker_cpu_seconds": cpu, "worker_cores_busy": round(sum(cpu) / elapsed, 2),
                "duplicates_or_missing": sum(1 for n in per_person if n != events_n),
            }
    finally:
        pg.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    server = postgres_server_url()
    if server is None:
        raise SystemExit("this benchmark needs CALSYNC_TEST_POSTGRES_URL "
                         "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres)")
    people_n, events_n = (20, 15) if args.quick else (40, 40)
    results: dict[str, Any] = {}
    figures = []
    for provider in (Provider.MICROSOFT, Provider.GOOGLE):
        rates = {}
        for n in (1, 2):
            r = measure(server, provider, n, people_n, events_n)
            results[f"{provider.value}/{n}"] = r
            rates[n] = r["entries_per_second"]
            print(f"{provider.value}: {n} worker(s): {r['entries_per_second']} entries/s, cpu {r['worker_cpu_seconds']}"
                  f" s, {r['duplicates_or_missing']} people with a wrong count")
            figures.append(figure(f"{provider.value}: {n} worker process(es): entries/s", r["entries_per_second"],
                                  "entries/s", note=f"{r['entries']} entries; worker cores busy "
                                                    f"{r['worker_cores_busy']}; {r['duplicates_or_missing']} wrong"))
        figures.append(figure(f"{provider.value}: 2 workers / 1 worker", round(rates[2] / rates[1], 2), "x",
                              baseline=f"1 worker: {rates[1]} entries/s"))
    path = write_result("workers_scaling", {
        "revision": git_revision(), "quick": args.quick, "latency_ms_added": LATENCY_MS, "database": "postgresql",
        "conditions": "sandbox in the benchmark process over HTTPS, 100 ms added per API request; N `calsync worker` "
                      "subprocesses (default concurrency 8); PostgreSQL on the same 2-core machine",
        "results": results, "figures": figures,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
