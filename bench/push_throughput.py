"""Push throughput: entries written per second by calsync vs. a straightforward client loop, for Google and for
Microsoft, and one Google user's backfill against the 600/min per-user quota (issue 5; targets >= 20x and >= 95%
with no 429 to the person).

**Where things run.** The sandbox is ``calsync sandbox`` in **its own process** (its own interpreter and GIL),
started once and reset to empty between measurements; latency and quotas are set through its admin API. calsync's
production worker loop and the measuring code run in the benchmark process; so does each baseline loop. Both
share the machine's 2 cores with each other and with whatever else runs on it.

**calsync.** P people connect their calendars (real OAuth flow) and their first rounds finish; then each accepts
E events while no worker runs, so P x E entries are due at once (a backlog, as after an outage or a big
invitation wave). The production worker loop starts and the clock runs until the store records every entry as
written. Google twice: at the default project quota (10,000/min: calsync's limiter keeps it at 97%) and with the
project quota raised to 100,000/min (Google raises project quotas on request; the per-user 600/min stays), so the
second figure shows what the engine does when the quota is not the ceiling. Microsoft once (Graph has no
project-wide cap: 4 concurrent requests and 10,000 per 10 min per mailbox, provider-facts §3.7).

**Baselines.** What a developer writes instead, one request after another against the same sandbox process with
the same 100 ms latency: Google, limits-and-practice.md §5's ``service.events().insert(calendarId="primary",
body=...).execute()`` with google-api-python-client (httplib2, one ``Http`` per user, keep-alive); Microsoft,
``POST /me/events`` with one ``httpx.Client`` (keep-alive), the token from MSAL's auth-code flow. Same body shape
as calsync's entries; their rate is flat, so a part of the work measures it (the count is in the results).

**Backfill.** One Google user with N upcoming accepted events connects; the full round backfills them. The share
of the 600/min per-user quota is the request rate between the first and the last request of that round; the
busiest 60 s window is also reported (the sandbox refuses the 601st request in any 60 s window).

**Profile** (``--profile``): one more Google backlog (quota raised) with cProfile on every thread the worker
starts, once with a per-thread CPU clock (what each entry costs in CPU) and once with the wall clock (where an
entry's time goes, waits included); grouped per entry written, top lines in ``results/push_profile.txt``.

    .venv/bin/python -m bench.push_throughput [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import select
import signal
import subprocess
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httplib2
import httpx
import msal
import requests
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp  # type: ignore[import-untyped]
from googleapiclient.discovery import build
from sqlalchemy import event

from bench.common import RESULTS, git_revision, write_result
from bench.figures import at_least, at_most, figure
from bench.harness import (
    DEFAULT_CONCURRENCY,
    GOOGLE_CLIENT,
    LATENCY_MS,
    MICROSOFT_CLIENT,
    Stack,
    stack,
    wait_for,
    working,
)
from bench.sandbox_process import SandboxProcess
from calsync.core.connection import Provider
from calsync.core.model import RsvpStatus
from calsync.sync.report import RoundReport

GOOGLE_SCOPE = "https://www.googleapis.com/auth/calendar"
GRAPH_SCOPE = "Calendars.ReadWrite"
TARGET_RATIO = 20.0
TARGET_QUOTA_SHARE = 0.95
BASELINE_REDIRECT_BASE = "http://127.0.0.1:9"
"""The baselines' OAuth redirect (never followed: the code is read from the Location header)."""
CONDITIONS = ("sandbox = `python -m calsync sandbox` in its own process (own interpreter and GIL), reset between "
              "measurements, 100 ms added per API request, set through its admin API; calsync's worker loop "
              f"(default concurrency {DEFAULT_CONCURRENCY} connections x 4 entries per round, idle sleep 0.2 s) "
              "and the baseline loops in the benchmark process; SQLite; 2 cores shared by both processes and by "
              "other work on the machine")


# ---- measuring helpers --------------------------------------------------------------------------------------
class Transactions:
    """Counts the transactions calsync opens on its engine (SQLite: BEGIN IMMEDIATE = write, DEFERRED = read), its
    statements, and how long each ``BEGIN IMMEDIATE`` took: the wait for SQLite's one writer, measured without a
    profiler (SQLite's busy handler sleeps 1, 2, 5, 10 ... 100 ms between tries while another writer holds it)."""

    def __init__(self, s: Stack) -> None:
        self.counts: Counter[str] = Counter()
        self.waits: list[float] = []
        self.lock = threading.Lock()
        self.engine = s.runtime.db.engine

        def begin(connection: Any) -> None:
            mode = connection.get_execution_options().get("calsync_sqlite_begin", "IMMEDIATE")
            with self.lock:
                self.counts["write" if mode == "IMMEDIATE" else "read"] += 1

        def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            conn.info["bench_statement_started"] = time.perf_counter()
            with self.lock:
                self.counts["statements"] += 1

        def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            if statement.startswith("BEGIN IMMEDIATE"):
                waited = time.perf_counter() - conn.info.pop("bench_statement_started", time.perf_counter())
                with self.lock:
                    self.waits.append(waited)

        self._listeners: list[tuple[str, Callable[..., None]]] = [
            ("begin", begin), ("before_cursor_execute", before), ("after_cursor_execute", after)]
        for name, fn in self._listeners:
            event.listen(self.engine, name, fn)

    def close(self) -> dict[str, Any]:
        for name, fn in self._listeners:
            event.remove(self.engine, name, fn)
        waits = sorted(self.waits)
        return {**self.counts, "begin_immediate_ms_mean": round(sum(waits) / max(1, len(waits)) * 1000, 2),
                "begin_immediate_ms_p99": round(waits[int(len(waits) * 0.99)] * 1000, 2) if waits else None,
                "begin_immediate_seconds_total": round(sum(waits), 2)}


@contextmanager
def cpu_clock(proc: SandboxProcess) -> Iterator[dict[str, float]]:
    """Wall seconds and the CPU seconds of this process and of the sandbox process over the block."""
    out: dict[str, float] = {"load_before": os.getloadavg()[0]}
    start, bench_cpu, sandbox_cpu = time.monotonic(), time.process_time(), proc.cpu_seconds()
    yield out
    out["load_after"] = os.getloadavg()[0]
    out["wall"] = time.monotonic() - start
    out["bench_cpu"] = time.process_time() - bench_cpu
    out["sandbox_cpu"] = proc.cpu_seconds() - sandbox_cpu


def _cpu_fields(c: dict[str, float]) -> dict[str, Any]:
    return {
        "benchmark_process_cpu_seconds": round(c["bench_cpu"], 1),
        "benchmark_process_cores_busy": round(c["bench_cpu"] / c["wall"], 2),
        "sandbox_process_cpu_seconds": round(c["sandbox_cpu"], 1),
        "sandbox_process_cores_busy": round(c["sandbox_cpu"] / c["wall"], 2),
        "machine_load_average_1min_before_after": [round(c["load_before"], 2), round(c["load_after"], 2)],
    }


# ---- calsync ----------------------------------------------------------------------------------------------
def _backlog(s: Stack, provider: Provider, people_n: int, events_n: int) -> list[str]:
    emails = [f"w{i:03d}@{provider.value}.bench.example" for i in range(people_n)]
    s.connect_many(emails, provider)
    s.settle()
    event_ids = [s.event(f"Bench event {k}", days=2 + k % 20, hour=8 + k % 12) for k in range(events_n)]
    for email in emails:
        for event_id in event_ids:
            s.rsvp(email, event_id, RsvpStatus.ACCEPTED)
    return emails


def _prepare(s: Stack, proc: SandboxProcess, provider: Provider, project_quota: int | None) -> None:
    s.fresh_quota_windows()
    if provider is Provider.GOOGLE and project_quota is not None:
        proc.google_quotas(per_project=project_quota)
        limits = s.runtime.limits
        limits.google_project_per_minute = project_quota * 0.97  # what Limits(google_project_per_minute=...) sets
        limits.project.set_rate(limits.google_project_per_minute, 60.0)
    s.set_latency(LATENCY_MS)


def calsync_rate(proc: SandboxProcess, provider: Provider, people_n: int, events_n: int, *,
                 project_quota: int | None = None, concurrency: int = DEFAULT_CONCURRENCY) -> dict[str, Any]:
    """``concurrency``: connections one worker runs at once (calsync's default unless an experiment says)."""
    with stack(sandbox=proc, worker_concurrency=concurrency) as s:
        emails = _backlog(s, provider, people_n, events_n)
        _prepare(s, proc, provider, project_quota)
        total = people_n * events_n
        mark = s.traffic.mark()
        tx = Transactions(s)
        with working(s), cpu_clock(proc) as c:
            wait_for(lambda: s.entry_rows() >= total, timeout=900, what="every entry to be written", every=0.05)
        transactions = tx.close()
        requests_ = s.traffic.since(mark)
        writes = [r for r in requests_ if r.method == "POST"]
        elapsed = c["wall"]
        out: dict[str, Any] = {
            "provider": provider.value, "people": people_n, "events_each": events_n, "entries": total,
            "worker_concurrency": concurrency,
            "seconds": round(elapsed, 2), "entries_per_second": round(total / elapsed, 1),
            "api_requests": len(requests_), "create_requests": len(writes),
            "batch_requests": sum(1 for r in requests_ if r.parts != 1 or "batch" in r.path),
            "calls_including_batch_parts": sum(r.parts for r in requests_),
            "quota_refusals_seen": s.traffic.refused(requests_),
            "request_seconds_mean": round(sum(r.at - r.sent for r in requests_) / max(1, len(requests_)), 4),
            "sqlite_per_entry": {k: round(transactions[k] / total, 2) for k in ("write", "read", "statements")},
            "sqlite_write_lock_wait": {k: v for k, v in transactions.items() if k.startswith("begin_immediate")},
            **_cpu_fields(c),
            "entries_in_calendars": sum(len(s.entries(e, provider)) for e in emails),
        }
        if provider is Provider.GOOGLE and project_quota is not None:
            out["project_quota_per_minute"] = project_quota
            out["share_of_project_quota"] = round(len(requests_) / elapsed * 60 / project_quota, 3)
        return out


# ---- baselines --------------------------------------------------------------------------------------------
def _when(k: int) -> tuple[dt.datetime, dt.datetime]:
    begin = dt.datetime.combine(dt.date.today() + dt.timedelta(days=2 + k % 20), dt.time(8 + k % 12))
    return begin, begin + dt.timedelta(hours=2)


def _baseline_loop(write: Callable[[int, int], None], inserts: int, events_n: int, proc: SandboxProcess,
                   people_n: int) -> dict[str, Any]:
    done = 0
    with cpu_clock(proc) as c:
        for person in range(people_n):
            for k in range(events_n):
                if done >= inserts:
                    break
                write(person, k)
                done += 1
    return {"inserts": done, "people": people_n, "seconds": round(c["wall"], 2),
            "entries_per_second": round(done / c["wall"], 2), **_cpu_fields(c)}


def google_baseline(proc: SandboxProcess, inserts: int, events_n: int) -> dict[str, Any]:
    """google-api-python-client, one insert after another, as limits-and-practice §5 describes."""
    proc.reset()
    proc.register_clients((GOOGLE_CLIENT.client_id, GOOGLE_CLIENT.client_secret),
                          (MICROSOFT_CLIENT.client_id, MICROSOFT_CLIENT.client_secret), BASELINE_REDIRECT_BASE)
    ep = proc.endpoints["google"]
    people_n = -(-inserts // events_n)
    services = []
    for i in range(people_n):
        tok = proc.google_tokens(f"b{i:03d}@google.bench.example", GOOGLE_CLIENT.client_id, [GOOGLE_SCOPE])
        creds = Credentials(  # type: ignore[no-untyped-call]
            tok["access_token"], refresh_token=tok.get("refresh_token"), token_uri=ep["token"],
            client_id=GOOGLE_CLIENT.client_id, client_secret=GOOGLE_CLIENT.client_secret, scopes=[GOOGLE_SCOPE])
        http = AuthorizedHttp(creds, http=httplib2.Http(ca_certs=proc.ca_bundle))
        services.append(build("calendar", "v3", http=http, client_options={"api_endpoint": ep["calendar_api"]},
                              static_discovery=True))
    proc.set_latency(LATENCY_MS)

    def write(person: int, k: int) -> None:
        begin, end = _when(k)
        body = {
            "summary": f"Bench event {k}", "location": "Hall A", "description": "Bring friends",
            "start": {"dateTime": begin.isoformat(), "timeZone": "Europe/Berlin"},
            "end": {"dateTime": end.isoformat(), "timeZone": "Europe/Berlin"},
            "extendedProperties": {"private": {"platformEvent": str(k)}},
        }
        services[person].events().insert(calendarId="primary", body=body).execute()

    return _baseline_loop(write, inserts, events_n, proc, people_n)


def _graph_token(proc: SandboxProcess, email: str) -> str:
    """MSAL's auth-code flow against the sandbox's identity platform (auto-consent for the login_hint)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = proc.ca_bundle
    app = msal.ConfidentialClientApplication(
        MICROSOFT_CLIENT.client_id, client_credential=MICROSOFT_CLIENT.client_secret,
        authority=proc.endpoints["microsoft"]["authority"], http_client=session, instance_discovery=False)
    with warnings.catch_warnings():  # MSAL recommends form_post; a script reading the Location header uses query
        warnings.simplefilter("ignore", UserWarning)
        flow = app.initiate_auth_code_flow([GRAPH_SCOPE], login_hint=email,
                                           redirect_uri=f"{BASELINE_REDIRECT_BASE}/oauth/microsoft/callback")
    with httpx.Client(verify=proc.ca_bundle, trust_env=False) as http:
        location = http.get(flow["auth_uri"]).headers["location"]
    q = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    result = app.acquire_token_by_auth_code_flow(flow, q)
    if "access_token" not in result:
        raise RuntimeError(f"no Graph token for {email}: {result.get('error_description', result)}")
    return str(result["access_token"])


def microsoft_baseline(proc: SandboxProcess, inserts: int, events_n: int) -> dict[str, Any]:
    """``POST /me/events`` with httpx, one after another (keep-alive, one client)."""
    proc.reset()
    proc.register_clients((GOOGLE_CLIENT.client_id, GOOGLE_CLIENT.client_secret),
                          (MICROSOFT_CLIENT.client_id, MICROSOFT_CLIENT.client_secret), BASELINE_REDIRECT_BASE)
    people_n = -(-inserts // events_n)
    tokens = [_graph_token(proc, f"b{i:03d}@microsoft.bench.example") for i in range(people_n)]
    graph = str(proc.endpoints["microsoft"]["graph"]).rstrip("/")
    proc.set_latency(LATENCY_MS)
    with httpx.Client(verify=proc.ca_bundle, trust_env=False, timeout=30.0) as http:

        def write(person: int, k: int) -> None:
            begin, end = _when(k)
            body = {
                "subject": f"Bench event {k}", "body": {"contentType": "text", "content": "Bring friends"},
                "start": {"dateTime": begin.isoformat(), "timeZone": "Europe/Berlin"},
                "end": {"dateTime": end.isoformat(), "timeZone": "Europe/Berlin"},
                "location": {"displayName": "Hall A"}, "showAs": "busy",
                "singleValueExtendedProperties": [
                    {"id": "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name platformEvent", "value": str(k)}],
            }
            r = http.post(f"{graph}/me/events", json=body, headers={"Authorization": f"Bearer {tokens[person]}"})
            r.raise_for_status()

        return _baseline_loop(write, inserts, events_n, proc, people_n)


# ---- backfill ---------------------------------------------------------------------------------------------
def backfill(proc: SandboxProcess, events_n: int) -> dict[str, Any]:
    with stack(sandbox=proc) as s:
        email = "backfill@google.bench.example"
        event_ids = [s.event(f"Backfill {k}", days=1 + k % 60, hour=6 + k % 14, minute=k % 4 * 15)
                     for k in range(events_n)]
        for event_id in event_ids:
            s.rsvp(email, event_id, RsvpStatus.ACCEPTED)
        s.set_latency(LATENCY_MS)
        reports: list[RoundReport] = []
        lock = threading.Lock()

        def record(report: RoundReport) -> None:
            with lock:
                reports.append(report)

        mark = s.traffic.mark()
        with working(s, on_round=record):
            start = time.monotonic()
            s.connect(email, Provider.GOOGLE)
            wait_for(lambda: s.entry_rows() >= events_n, timeout=events_n / 5 + 120, what="the backfill", every=0.1)
            elapsed = time.monotonic() - start
        requests_ = [r for r in s.traffic.since(mark) if "/calendar/v3" in r.path]
        times = [r.at for r in requests_ for _ in range(r.parts)]  # a batch's parts each count (§1.7)
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        rate_per_minute = (len(times) - 1) / span * 60 if span else 0.0
        busiest, j = 0, 0
        for i, t in enumerate(times):
            while times[j] <= t - 60.0:
                j += 1
            busiest = max(busiest, i - j + 1)
        errors = [e for r in reports for e in r.errors]
        in_calendar = len(s.entries(email, Provider.GOOGLE))
        return {
            "events": events_n, "seconds": round(elapsed, 1), "requests": len(requests_), "calls": len(times),
            "request_span_seconds": round(span, 1), "requests_per_minute": round(rate_per_minute, 1),
            "share_of_per_user_quota": round(rate_per_minute / 600, 3),
            "busiest_60s_window_requests": busiest,
            "quota_refusals_seen": s.traffic.refused(requests_),
            "round_errors": len(errors), "first_errors": errors[:3],
            "entries_in_calendar": in_calendar, "entries_missing": events_n - in_calendar,
            "rounds": len(reports),
        }


def share_figure(fill: dict[str, Any]) -> dict[str, Any]:
    """The quota is per 60 s window, so a backfill shorter than a minute cannot show what it sustains."""
    note = (f"{fill['events']} events over {fill['request_span_seconds']} s, busiest 60 s window "
            f"{fill['busiest_60s_window_requests']} requests (the sandbox refuses the 601st)")
    share = round(fill["share_of_per_user_quota"] * 100, 1)
    if fill["request_span_seconds"] < 60:
        return figure("backfill: share of one user's 600/min quota sustained", share, "%",
                      target=f">= {TARGET_QUOTA_SHARE * 100:g} %", note="not judged: shorter than a minute; " + note)
    return at_least("backfill: share of one user's 600/min quota sustained", share, TARGET_QUOTA_SHARE * 100, "%",
                    note=note)


# ---- profile ------------------------------------------------------------------------------------------------
GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("SQLite + SQLAlchemy (store)", ("sqlalchemy/", "sqlite3", "calsync/store/", "<method 'execute' of 'sqlite3",
                                     "<method 'commit' of 'sqlite3", "<method 'fetch")),
    ("HTTP client (httpx, httpcore, h11, TLS)", ("httpx/", "httpcore/", "h11/", "ssl.py", "_ssl", "anyio/",
                                                 "certifi", "idna/")),
    ("JSON", ("json/", "_json")),
    ("render / fingerprint / plan (core)", ("calsync/core/",)),
    ("limiter and round calls", ("calsync/sync/limits.py", "calsync/sync/calls.py")),
    ("token decryption (Fernet)", ("cryptography/", "calsync/crypto.py", "calsync/sync/tokens.py")),
    ("provider adapters", ("calsync/providers/",)),
    ("engine, entry run, worker", ("calsync/sync/",)),
    ("threads, locks, pools", ("threading.py", "concurrent/", "queue.py", "<method 'acquire'",
                               "<built-in method _thread")),
    ("pydantic", ("pydantic",)),
]


SPOTS: list[tuple[str, str, str]] = [
    # (what, file suffix, function): their cumulative time per entry (under the wall clock: how long they wait)
    ("SQLite BEGIN (IMMEDIATE for writes: waits for the one writer)", "calsync/store/db.py", "_on_begin"),
    ("SQLAlchemy pool checkout (waits when all connections are out)", "sqlalchemy/pool/impl.py", "_do_get"),
    ("EntryRun.save (write-ahead, then the record after the create)", "calsync/sync/entry_run.py", "save"),
    ("EntryRepository.clean", "calsync/store/entries.py", "clean"),
    ("provider call (RoundCalls.__call__: limiter + HTTP)", "calsync/sync/calls.py", "__call__"),
    ("limiter (TokenBucket.acquire)", "calsync/sync/limits.py", "acquire"),
    ("one entry (Engine._entry)", "calsync/sync/engine.py", "_entry"),
]


def _group(key: tuple[str, int, str]) -> str:
    text = f"{key[0]}:{key[2]}"
    for name, needles in GROUPS:
        if any(n in text for n in needles):
            return name
    return "other"


@contextmanager
def profiled_threads(timer: Callable[[], float]) -> Iterator[list[cProfile.Profile]]:
    """cProfile in every thread started inside the block (the worker loop, its pool, each round's entry pool)."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start(*_: Any) -> None:
        prof = cProfile.Profile(timer)
        with lock:
            profiles.append(prof)
        prof.enable()  # replaces this thread's Python-level hook with cProfile's

    threading.setprofile(start)
    try:
        yield profiles
    finally:
        threading.setprofile(None)


def profile_run(proc: SandboxProcess, people_n: int, events_n: int, clock: str) -> tuple[dict[str, Any], str]:
    timer = time.thread_time if clock == "cpu" else time.perf_counter
    with stack(sandbox=proc) as s:
        _backlog(s, Provider.GOOGLE, people_n, events_n)
        _prepare(s, proc, Provider.GOOGLE, 100_000)
        total = people_n * events_n
        with profiled_threads(timer) as profiles, working(s), cpu_clock(proc) as c:
            wait_for(lambda: s.entry_rows() >= total, timeout=900, what="every entry to be written", every=0.05)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, prof in enumerate(profiles):
            path = Path(tmp) / f"{i}.prof"
            prof.dump_stats(path)
            paths.append(str(path))
        stats = pstats.Stats(*paths)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    by_group: dict[str, float] = {}
    for key, (_, _, tottime, _, _) in raw.items():
        by_group[_group(key)] = by_group.get(_group(key), 0.0) + tottime
    profiled = sum(by_group.values())
    text = io.StringIO()
    stats.stream = text  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats("calsync", 40)
    listing = "\n".join(line for line in text.getvalue().splitlines() if not line.endswith(".prof"))
    at = {what: round(sum(v[3] for k, v in raw.items() if k[0].endswith(suffix) and k[2] == fn) / total * 1000, 3)
          for what, suffix, fn in SPOTS}
    spots = "\n".join(f"{ms:10.3f}  {what}" for what, ms in at.items())
    listing = f"cumulative ms per entry written at:\n{spots}\n{listing}"
    summary = {
        "clock": "per-thread CPU (time.thread_time)" if clock == "cpu" else "wall (time.perf_counter)",
        "entries": total, "threads_profiled": len(profiles), "seconds": round(c["wall"], 2),
        "entries_per_second_while_profiled": round(total / c["wall"], 1),
        "profiled_ms_per_entry": round(profiled / total * 1000, 2),
        "cumulative_ms_per_entry_at": at,
        "ms_per_entry_by_group": {k: round(v / total * 1000, 3)
                                  for k, v in sorted(by_group.items(), key=lambda kv: -kv[1])},
        "top_functions_ms_per_entry": [
            {"function": f"{Path(k[0]).name}:{k[1]}({k[2]})", "calls_per_entry": round(v[1] / total, 2),
             "self_ms_per_entry": round(v[2] / total * 1000, 3),
             "cumulative_ms_per_entry": round(v[3] / total * 1000, 3)}
            for k, v in sorted(raw.items(), key=lambda kv: -kv[1][2])[:25]
        ],
        **_cpu_fields(c),
    }
    return summary, listing


PHASES: list[tuple[str, tuple[str, ...]]] = [
    # innermost match wins: a stack is charged to the deepest of these calsync frames it contains
    ("limiter (token buckets, semaphores)", ("TokenBucket.", "Limits.")),
    ("render, fingerprint, request body", ("render (", "EntryContent.fingerprint (", "entry_body (")),
    ("entry write: write-ahead and record after the create (EntryRun.save)", ("EntryRun.save (",)),
    ("entry write: clean (EntryRepository.clean)", ("EntryRepository.clean (",)),
    ("entry read: event, RSVP, entry, organizer (4 queries)", (
        "EventRepository.get (", "RsvpRepository.get (", "EntryRepository.get (", "PersonRepository.get (")),
    ("provider call (adapter, REST, httpx, TLS)", ("RoundCalls.__call__ (",)),
    ("round: token, pull, work list, record, channel", ("Engine.reconcile (",)),
    ("worker loop: claim, release, heartbeat", ("Worker.run (", "Worker.heartbeat (")),
    ("round: entry thread pool (submit, result, shutdown)", ("Engine._entries (",)),
    ("entry: plan, EntryRun bookkeeping", ("Engine._entry (",)),
    ("benchmark: the measuring poll (entry_rows)", ("Stack.entry_rows (", "wait_for (")),
]
LIBRARIES: list[tuple[str, tuple[str, ...]]] = [
    ("sqlalchemy", ("sqlalchemy/",)), ("sqlite3 (C, via pysqlite)", ("sqlite3/",)),
    ("httpx/httpcore/h11", ("httpx/", "httpcore/", "h11/")), ("ssl", ("ssl.py",)), ("json", ("json/",)),
    ("calsync", ("calsync/",)), ("threading/concurrent", ("threading.py", "concurrent/", "queue.py")),
]


def _classify(stack: str, table: list[tuple[str, tuple[str, ...]]], *, innermost: bool) -> str:
    best, where = "other", -1
    for name, needles in table:
        for needle in needles:
            i = stack.rfind(needle) if innermost else stack.find(needle)
            if i > where:
                best, where = name, i
    return best


def sampled_run(proc: SandboxProcess, people_n: int, events_n: int, py_spy: str) -> tuple[dict[str, Any], str]:
    """py-spy sampling only the thread that holds the GIL (``--gil``): on one interpreter, GIL time is what caps
    the worker's throughput, and a sampler does not inflate SQLAlchemy's many small calls the way cProfile does."""
    rate = 250
    with stack(sandbox=proc) as s, tempfile.TemporaryDirectory() as tmp:
        _backlog(s, Provider.GOOGLE, people_n, events_n)
        _prepare(s, proc, Provider.GOOGLE, 100_000)
        total = people_n * events_n
        out = Path(tmp) / "spy.txt"
        spy = subprocess.Popen([py_spy, "record", "--pid", str(os.getpid()), "--gil", "--nonblocking",
                                "--rate", str(rate), "--format", "raw", "-o", str(out)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert spy.stdout is not None
        said = b""
        while b"Sampling process" not in said:  # it says so (on stdout) once attached
            ready, _, _ = select.select([spy.stdout], [], [], 15.0)
            chunk = os.read(spy.stdout.fileno(), 4096) if ready else b""
            if not chunk:
                spy.kill()
                raise RuntimeError(f"py-spy did not attach (it needs ptrace): {said.decode(errors='replace')}")
            said += chunk
        with working(s), cpu_clock(proc) as c:
            wait_for(lambda: s.entry_rows() >= total, timeout=900, what="every entry to be written", every=0.05)
        spy.send_signal(signal.SIGINT)
        spy.communicate(timeout=60)
        lines = out.read_text().splitlines()
    phases: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    libraries: Counter[str] = Counter()
    callers: dict[str, Counter[str]] = {}
    for line in lines:
        stack_text, _, count = line.rpartition(" ")
        if not stack_text or not count.isdigit():
            continue
        n = int(count)
        phases[_classify(stack_text, PHASES, innermost=True)] += n
        frames = stack_text.split(";")
        leaf = frames[-1]
        leaves[leaf] += n
        callers.setdefault(leaf, Counter())[" <- ".join(reversed(frames[-5:-1]))] += n
        libraries[_classify(leaf, LIBRARIES, innermost=False)] += n
    ms = 1000 / rate / total

    def per_entry(counter: Counter[str], n: int | None = None) -> dict[str, float]:
        return {k: round(v * ms, 3) for k, v in counter.most_common(n)}

    summary = {
        "sampler": f"py-spy --gil --rate {rate} (the GIL holder only)", "entries": total,
        "seconds": round(c["wall"], 2), "entries_per_second_while_sampled": round(total / c["wall"], 1),
        "gil_ms_per_entry": round(sum(phases.values()) * ms, 3),
        "gil_ms_per_entry_by_phase": per_entry(phases),
        "gil_ms_per_entry_by_library_of_the_leaf": per_entry(libraries),
        "top_leaf_frames_ms_per_entry": per_entry(leaves, 20),
        **_cpu_fields(c),
    }
    text = "\n".join([f"===== {summary['sampler']}: GIL ms per entry written ====="]
                     + [f"{v:8.3f}  {k}" for k, v in summary["gil_ms_per_entry_by_phase"].items()]
                     + ["", "by library of the innermost frame:"]
                     + [f"{v:8.3f}  {k}" for k, v in summary["gil_ms_per_entry_by_library_of_the_leaf"].items()]
                     + ["", "top innermost frames:"]
                     + [f"{v:8.3f}  {k}" for k, v in summary["top_leaf_frames_ms_per_entry"].items()]
                     + ["", "where the top innermost frames are called from (4 frames up):"]
                     + [f"{leaf}\n    {c * ms:8.3f}  <- {chain}" for leaf, _ in leaves.most_common(6)
                        for chain, c in callers[leaf].most_common(3)])
    return summary, text


def _profiles(proc: SandboxProcess, people_n: int, events_n: int, py_spy: str | None) -> dict[str, Any]:
    profile: dict[str, Any] = {}
    texts = []
    if py_spy:
        profile["sampled"], text = sampled_run(proc, people_n, events_n, py_spy)
        texts.append(text)
        print(f"profile (py-spy, GIL): {profile['sampled']['gil_ms_per_entry']} ms/entry")
    for clock in ("cpu", "wall"):
        profile[clock], text = profile_run(proc, people_n, events_n, clock)
        texts.append(f"===== cProfile, {profile[clock]['clock']} =====\n{text}")
        print(f"profile ({clock}): {profile[clock]['profiled_ms_per_entry']} ms/entry")
    (RESULTS / "push_profile.txt").write_text("\n\n".join(texts))
    return profile


def profile_only(proc: SandboxProcess, people_n: int, events_n: int, py_spy: str | None) -> None:
    profile = _profiles(proc, people_n, events_n, py_spy)
    for p in profile.values():
        groups = p.get("gil_ms_per_entry_by_phase") or p["ms_per_entry_by_group"]
        print(f"--- {p.get('clock') or p.get('sampler')}: {p['seconds']} s")
        for group, ms in groups.items():
            print(f"  {ms:8.3f} ms/entry  {group}")


# ---- main ---------------------------------------------------------------------------------------------------
def figures_for(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's lines from the measurements (also re-run alone by ``--refigure`` on a saved result)."""
    base_g, base_m = data["baseline"], data["baseline_microsoft"]
    default, raised, ms = data["calsync_default_quota"], data["calsync_raised_quota"], data["calsync_microsoft"]
    fill, profile = data["backfill"], data["profile"]
    bg, bm = base_g["entries_per_second"], base_m["entries_per_second"]
    google_text = f"{bg} entries/s (google-api-python-client loop)"
    ms_text = f"{bm} entries/s (httpx POST /me/events loop)"
    n, each = raised["worker_concurrency"], raised["events_each"]
    # one person's round: a burst of 10 (calsync's USER_BURST), the rest at 600/min x 0.97, and the last answer
    per_round = max(0, each - 10) / 9.7 + LATENCY_MS / 1000

    def cores(r: dict[str, Any]) -> str:
        return (f"cores busy: benchmark process {r['benchmark_process_cores_busy']}, sandbox process "
                f"{r['sandbox_process_cores_busy']}")

    figures = [
        figure("google baseline loop: entries/s", bg, "entries/s", note=cores(base_g)),
        figure("google: calsync at the default project quota: entries/s", default["entries_per_second"],
               "entries/s", baseline=google_text,
               note=f"{default['share_of_project_quota']:.0%} of the 10,000/min project quota used; {cores(default)}"),
        at_least("google: throughput ratio at the default project quota (10,000/min)",
                 round(default["entries_per_second"] / bg, 1), TARGET_RATIO, "x", baseline=google_text,
                 note=f"ceiling set by the quota: 9,700/min / 60 / {bg} = {9700 / 60 / bg:.1f}x"),
        figure("google: calsync with the project quota raised to 100,000/min: entries/s",
               raised["entries_per_second"], "entries/s", baseline=google_text,
               note=f"{cores(raised)}; ceiling at {n} connections at once: a person's round of {each} entries is "
                    f"held by the per-user quota (a burst of 10, then 600/min x 0.97 = 9.7/s: {per_round:.1f} s), "
                    f"so about {n} x {each / per_round:.0f} = {n * each / per_round:.0f} entries/s"),
        at_least("google: throughput ratio with the project quota raised", round(raised["entries_per_second"] / bg, 1),
                 TARGET_RATIO, "x", baseline=google_text),
        figure("microsoft baseline loop: entries/s", bm, "entries/s", note=cores(base_m)),
        figure("microsoft: calsync: entries/s", ms["entries_per_second"], "entries/s", baseline=ms_text,
               note=cores(ms)),
        at_least("microsoft: throughput ratio", round(ms["entries_per_second"] / bm, 1), TARGET_RATIO, "x",
                 baseline=ms_text, note="Graph has no project-wide cap (4 concurrent and 10,000/10 min per mailbox)"),
        figure("SQLite write lock: wait in BEGIN IMMEDIATE per write transaction (Microsoft backlog), mean",
               ms["sqlite_write_lock_wait"]["begin_immediate_ms_mean"], "ms",
               note=f"p99 {ms['sqlite_write_lock_wait']['begin_immediate_ms_p99']} ms; "
                    f"{ms['sqlite_per_entry']['write']} write and {ms['sqlite_per_entry']['read']} read transactions "
                    f"per entry"),
        share_figure(fill),
        at_most("backfill: quota refusals (429/403) the sandbox answered", fill["quota_refusals_seen"], 0, ""),
        at_most("backfill: entries that failed or are missing", fill["entries_missing"] + fill["round_errors"], 0,
                ""),
    ]
    if "sampled" in profile:
        spl = profile["sampled"]
        figures.append(figure("profile: GIL held per entry written (py-spy --gil, Google backlog)",
                              spl["gil_ms_per_entry"], "ms",
                              note="; ".join(f"{k} {v}"
                                             for k, v in list(spl["gil_ms_per_entry_by_phase"].items())[:5])))
    elif profile:
        cpu = profile["cpu"]
        figures.append(figure("profile: calsync CPU per entry written (worker threads, cProfile)",
                              cpu["profiled_ms_per_entry"], "ms",
                              note="; ".join(f"{k} {v}" for k, v in list(cpu["ms_per_entry_by_group"].items())[:5])))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", action="store_true", help="also profile a Google backlog (CPU and wall)")
    parser.add_argument("--profile-only", action="store_true",
                        help="only the profile: print it and write results/push_profile.txt (the JSON is kept)")
    parser.add_argument("--py-spy", metavar="PATH",
                        help="with --profile: also sample the GIL holder with this py-spy binary (needs ptrace)")
    parser.add_argument("--refigure", action="store_true",
                        help="measure nothing: rebuild the figures of results/push_throughput.json")
    args = parser.parse_args()
    if args.refigure:
        path = RESULTS / "push_throughput.json"
        data = json.loads(path.read_text())
        data["figures"] = figures_for(data)
        path.write_text(json.dumps(data, indent=2, default=str) + "\n")
        print(f"rewrote the figures of {path}")
        return
    people_n, events_n = (20, 20) if args.quick else (60, 40)
    base_inserts = 80 if args.quick else 300
    backfill_n = 650 if args.quick else 1200
    with tempfile.TemporaryDirectory(prefix="calsync-bench-sandbox-") as tmp:
        proc = SandboxProcess(Path(tmp))
        if args.profile_only:
            try:
                profile_only(proc, people_n, events_n, args.py_spy)
            finally:
                proc.stop()
            return
        try:
            base_g = google_baseline(proc, base_inserts, events_n)
            print(f"google baseline: {base_g['entries_per_second']} entries/s ({base_g['inserts']} inserts)")
            base_m = microsoft_baseline(proc, base_inserts, events_n)
            print(f"microsoft baseline: {base_m['entries_per_second']} entries/s ({base_m['inserts']} inserts)")
            default = calsync_rate(proc, Provider.GOOGLE, people_n, events_n, project_quota=10_000)
            print(f"calsync google (project quota 10,000/min): {default['entries_per_second']} entries/s")
            raised = calsync_rate(proc, Provider.GOOGLE, people_n, events_n, project_quota=100_000)
            print(f"calsync google (project quota 100,000/min): {raised['entries_per_second']} entries/s")
            ms = calsync_rate(proc, Provider.MICROSOFT, people_n, events_n)
            print(f"calsync microsoft: {ms['entries_per_second']} entries/s")
            fill = backfill(proc, backfill_n)
            print(f"backfill: {fill['share_of_per_user_quota']:.1%} of 600/min, {fill['quota_refusals_seen']} refusals")
            profile = _profiles(proc, people_n, events_n, args.py_spy) if args.profile else {}
        finally:
            proc.stop()
    bg, bm = base_g["entries_per_second"], base_m["entries_per_second"]
    data = {
        "revision": git_revision(), "quick": args.quick, "latency_ms_added": LATENCY_MS, "database": "sqlite",
        "conditions": CONDITIONS,
        "baseline": base_g, "baseline_microsoft": base_m, "calsync_default_quota": default,
        "calsync_raised_quota": raised, "calsync_microsoft": ms, "backfill": fill,
        "ratio_default_quota": round(default["entries_per_second"] / bg, 2),
        "ratio_raised_quota": round(raised["entries_per_second"] / bg, 2),
        "ratio_microsoft": round(ms["entries_per_second"] / bm, 2), "profile": profile,
    }
    path = write_result("push_throughput", {**data, "figures": figures_for(data)})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
