"""Scale: memory and scheduler cost with 100,000 connections, in one SQLite file and in PostgreSQL (issue 7).

100,000 people and their connections are inserted with SQL (connected, due in the next five minutes as the
poll schedule spreads them, sealed-token columns filled with placeholder text). Then:

- the claim query a worker runs every idle tick (``WorkRepository.claim``, limit 8: the default concurrency),
  timed with nothing due and with 1,000 due (median and p99 of repeated claims; each claim leases what it took,
  so the due set shrinks by 8 a claim and stays above 700), and its query plan;
- a ``calsync worker`` process on that database with nothing due: resident memory (VmRSS, VmHWM) after start
  and CPU it burns idling for 10 s (its claim loop every 0.2 s and heartbeats);
- the database's size on disk.

Without a sandbox: nothing is due when the worker runs, so it makes no provider call.

    .venv/bin/python -m bench.scale_memory [--quick] [--connections N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text, update

from bench.common import git_revision, write_result
from bench.figures import figure, summary
from bench.harness import PostgresDatabase, postgres_server_url, wait_for
from calsync.store.db import Database
from calsync.store.migrate import upgrade
from calsync.store.models import Base
from calsync.store.sync_models import ConnectionRow
from calsync.store.work import WorkRepository

CALSYNC = Path(sys.executable).with_name("calsync")
CHUNK = 5_000


def populate(db: Database, n: int) -> float:
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(3)
    people = Base.metadata.tables["people"]
    organizations = Base.metadata.tables["organizations"]
    connections = Base.metadata.tables["connections"]
    start = time.monotonic()
    with db.session() as s:
        org_id = s.execute(insert(organizations).values(name="Scale", created_at=now).returning(
            organizations.c.id)).scalar_one()
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        with db.session() as s:
            ids = s.execute(insert(people).returning(people.c.id), [
                {"organization_id": org_id, "email": f"p{i}@scale.example", "name": f"P {i}",
                 "timezone": "Europe/Berlin", "role": "member", "created_at": now} for i in range(lo, hi)
            ]).scalars().all()
            s.execute(insert(connections), [
                {"person_id": pid, "organization_id": org_id, "provider": "google" if pid % 2 else "microsoft",
                 "account_email": f"p{pid}@scale.example", "account_id": f"acct-{pid}", "scopes": "calendar",
                 "status": "connected", "need_full_sync": False, "resync_requested": False, "connected_at": now,
                 "dedicated_calendar": False, "access_token_enc": "k1:placeholder", "refresh_token_enc": "k1:x",
                 "token_expires_at": now + dt.timedelta(hours=1), "target_calendar_id": "primary",
                 "cursor": "c" * 40, "due_at": now + dt.timedelta(seconds=60 + rng.uniform(0, 240)),
                 "next_poll_at": now + dt.timedelta(seconds=300), "pull_requested": False, "work_seq": 0,
                 "attempts": 0} for pid in ids
            ])
    return time.monotonic() - start


def time_claims(db: Database, repeats: int) -> dict[str, float]:
    lease = dt.timedelta(seconds=30)
    took = []
    claimed = 0
    for i in range(repeats):
        t0 = time.perf_counter()
        with db.session() as s:
            claimed += len(WorkRepository(s).claim(f"bench-{i}", dt.datetime.now(dt.UTC), lease, 8))
        took.append((time.perf_counter() - t0) * 1000)
    out = summary(took)
    out["claimed"] = claimed
    return out


def plan(db: Database) -> list[str]:
    now = dt.datetime.now(dt.UTC)
    with db.session(write=False) as s:
        if db.engine.dialect.name == "sqlite":
            sql = ("EXPLAIN QUERY PLAN SELECT id FROM connections WHERE status = 'connected' AND due_at IS NOT NULL "
                   "AND due_at <= :now AND (lease_until IS NULL OR lease_until < :now) ORDER BY due_at, id LIMIT 8")
            return [str(r[-1]) for r in s.execute(text(sql), {"now": now.replace(tzinfo=None).isoformat(" ")})]
        sql = ("EXPLAIN SELECT id FROM connections WHERE status = 'connected' AND due_at IS NOT NULL "
               "AND due_at <= :now AND (lease_until IS NULL OR lease_until < :now) ORDER BY due_at, id LIMIT 8 "
               "FOR UPDATE SKIP LOCKED")
        return [str(r[0]) for r in s.execute(text(sql), {"now": now})]


def _status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_footprint(url: str, data_dir: Path, idle_seconds: float) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALSYNC_")}
    env.update({"CALSYNC_DATABASE_URL": url, "CALSYNC_DATA_DIR": str(data_dir),
                "CALSYNC_PUSH_NOTIFICATIONS": "false", "CALSYNC_LOG_LEVEL": "WARNING"})
    proc = subprocess.Popen([str(CALSYNC), "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        db = Database(url)
        try:
            def registered() -> bool:
                with db.session(write=False) as s:
                    return bool(s.scalar(text("SELECT count(*) FROM workers")))
            wait_for(registered, timeout=60, what="the worker's heartbeat", every=0.1)
        finally:
            db.dispose()
        time.sleep(1.0)
        cpu0, t0 = _cpu(proc.pid), time.monotonic()
        time.sleep(idle_seconds)
        cpu = _cpu(proc.pid) - cpu0
        wall = time.monotonic() - t0
        mem = _status(proc.pid)
        return {"rss_mib": round(mem["VmRSS"] / 1024, 1), "peak_rss_mib": round(mem["VmHWM"] / 1024, 1),
                "idle_cpu_seconds": round(cpu, 2), "idle_wall_seconds": round(wall, 1),
                "idle_cpu_share_of_one_core": round(cpu / wall, 4)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def measure(backend: str, url: str, n: int, data_dir: Path, repeats: int) -> dict[str, Any]:
    upgrade(url)
    db = Database(url)
    try:
        insert_seconds = populate(db, n)
        with db.session() as s:  # fresh statistics, as autovacuum / ANALYZE would have them in production
            s.execute(text("ANALYZE"))
        nothing_due = time_claims(db, repeats)
        plan_lines = plan(db)
        now = dt.datetime.now(dt.UTC)
        due_ids = random.Random(9).sample(range(1, n + 1), 1000)
        with db.session() as s:
            s.execute(update(ConnectionRow).where(ConnectionRow.id.in_(due_ids)).values(due_at=now - dt.timedelta(
                seconds=1)))
        thousand_due = time_claims(db, repeats)
        with db.session() as s:  # back to nothing due, no leases, for the worker
            s.execute(update(ConnectionRow).where(ConnectionRow.id.in_(due_ids)).values(
                due_at=now + dt.timedelta(minutes=10), lease_owner=None, lease_until=None))
        footprint = worker_footprint(url, data_dir, idle_seconds=10.0)
        if backend == "sqlite":
            path = Path(url.removeprefix("sqlite:///"))
            size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        else:
            with db.session(write=False) as s:
                size = int(s.scalar(text("SELECT pg_database_size(current_database())")) or 0)
        return {"backend": backend, "connections": n, "insert_seconds": round(insert_seconds, 1),
                "claim_ms_nothing_due": nothing_due, "claim_ms_1000_due": thousand_due,
                "claim_query_plan": plan_lines, "worker": footprint, "database_mib": round(size / 2**20, 1)}
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 connections")
    parser.add_argument("--connections", type=int)
    args = parser.parse_args()
    n = args.connections or (20_000 if args.quick else 100_000)
    repeats = 30
    results: dict[str, Any] = {}
    figures = []
    with tempfile.TemporaryDirectory(prefix="calsync-scale-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        results["sqlite"] = measure("sqlite", f"sqlite:///{Path(tmp) / 'scale.db'}", n, data_dir, repeats)
        server = postgres_server_url()
        if server:
            pg = PostgresDatabase(server, prefix="calsync_scale")
            try:
                results["postgresql"] = measure("postgresql", pg.url, n, data_dir, repeats)
            finally:
                pg.drop()
        else:
            print("CALSYNC_TEST_POSTGRES_URL is not set: PostgreSQL skipped")
    for backend, r in results.items():
        print(f"{backend}: claim nothing due p50 {r['claim_ms_nothing_due']['p50']:.2f} ms, 1000 due p50 "
              f"{r['claim_ms_1000_due']['p50']:.2f} ms; worker RSS {r['worker']['rss_mib']} MiB, idle CPU "
              f"{r['worker']['idle_cpu_share_of_one_core']:.1%}; db {r['database_mib']} MiB")
        label = f"{backend}, {n:,} connections"
        figures += [
            figure(f"{label}: claim query, nothing due (p50 / p99)", round(r["claim_ms_nothing_due"]["p50"], 2),
                   "ms", note=f"p99 {r['claim_ms_nothing_due']['p99']:.2f} ms"),
            figure(f"{label}: claim query, 1,000 due (p50 / p99)", round(r["claim_ms_1000_due"]["p50"], 2), "ms",
                   note=f"p99 {r['claim_ms_1000_due']['p99']:.2f} ms"),
            figure(f"{label}: worker resident memory", r["worker"]["rss_mib"], "MiB",
                   note=f"peak {r['worker']['peak_rss_mib']} MiB"),
            figure(f"{label}: idle worker CPU", round(r["worker"]["idle_cpu_share_of_one_core"] * 100, 2),
                   "% of a core"),
            figure(f"{label}: database size", r["database_mib"], "MiB"),
        ]
    path = write_result("scale_memory", {
        "revision": git_revision(), "quick": args.quick, "connections": n,
        "conditions": "rows inserted with SQL; claim = WorkRepository.claim(limit 8) in its own transaction; "
                      "worker = `calsync worker` subprocess, nothing due",
        "results": results, "figures": figures,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
