"""RSVP -> entry visible in the calendar: p50 and p99 over 1,000 connected people (issue 5; target p99 <= 1 s).

Each person connects through the real OAuth flow; then their RSVPs (accept) arrive as a Poisson stream, 1,000
spread over about 60 s (~16.7/s, 1,000 writes a minute: a tenth of Google's 10,000/min project quota, so the
quota is not what is measured). The clock starts when the RSVP call starts (``services.rsvps.answer``, the same
transaction the API uses) and stops when a poller sees the entry in the sandbox's calendar state (every few ms).
calsync runs its production worker loop (default concurrency, lease and idle sleep) in this process, on SQLite,
against the sandbox over HTTPS with 100 ms added to every API request. Google and Microsoft run separately.

    .venv/bin/python -m bench.rsvp_latency [--quick] [--people N] [--seconds S] [--provider google|microsoft]
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from typing import Any

from bench.common import git_revision, write_result
from bench.figures import at_most, figure, summary
from bench.harness import DEFAULT_CONCURRENCY, LATENCY_MS, Stack, stack, working
from calsync.core.connection import Provider
from calsync.core.model import RsvpStatus

TARGET_P99 = 1.0


def _poll_until_visible(s: Stack, provider: Provider, pending: dict[str, float], done: dict[str, float],
                        lock: threading.Lock, stop: threading.Event) -> None:
    while not stop.is_set():
        with lock:
            waiting = list(pending.items())
        for email, t0 in waiting:
            if s.entries(email, provider):
                seen = time.monotonic()
                with lock:
                    pending.pop(email, None)
                    done[email] = seen - t0
        stop.wait(0.005)


def measure(provider: Provider, people_n: int, seconds: float, events_n: int, seed: int) -> dict[str, Any]:
    with stack() as s:
        emails = [f"p{i:04d}@{provider.value}.bench.example" for i in range(people_n)]
        t_setup = time.monotonic()
        s.connect_many(emails, provider)
        s.settle()  # the first (full) round of every connection, before the clock matters
        event_ids = [s.event(f"Bench event {k}", hour=9 + k % 10) for k in range(events_n)]
        setup_seconds = time.monotonic() - t_setup
        s.fresh_quota_windows()
        s.set_latency(LATENCY_MS)
        rate = people_n / seconds
        rng = random.Random(seed)
        arrivals, t = [], 0.0
        for email in emails:
            t += rng.expovariate(rate)
            arrivals.append((t, email, rng.choice(event_ids)))
        pending: dict[str, float] = {}
        done: dict[str, float] = {}
        lock = threading.Lock()
        stop = threading.Event()
        service_times: list[float] = []
        late_starts: list[float] = []
        mark = s.traffic.mark()
        with working(s):
            poller = threading.Thread(target=_poll_until_visible, args=(s, provider, pending, done, lock, stop),
                                      daemon=True)
            poller.start()
            start = time.monotonic()
            for at, email, event_id in arrivals:
                delay = start + at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    late_starts.append(-delay)
                t0 = time.monotonic()
                with lock:
                    pending[email] = t0
                s.rsvp(email, event_id, RsvpStatus.ACCEPTED)
                service_times.append(time.monotonic() - t0)
            stream_seconds = time.monotonic() - start
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with lock:
                    if not pending:
                        break
                time.sleep(0.05)
            stop.set()
            poller.join(timeout=10)
        requests = s.traffic.since(mark)
        with lock:
            lost = sorted(pending)
        latencies = list(done.values())
        duplicates = sum(1 for e in emails if len(s.entries(e, provider)) > 1)
        return {
            "people": people_n,
            "events": events_n,
            "rate_per_second": round(rate, 2),
            "stream_seconds": round(stream_seconds, 1),
            "setup_seconds": round(setup_seconds, 1),
            "latency_seconds": summary(latencies),
            "rsvp_call_seconds": summary(service_times),
            "arrivals_started_late": len(late_starts),
            "not_visible_after_120s": len(lost),
            "people_with_more_than_one_entry": duplicates,
            "api_requests": len(requests),
            "quota_refusals_seen": s.traffic.refused(requests),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 people over 12 s (same rate)")
    parser.add_argument("--people", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--provider", choices=["google", "microsoft"], action="append")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    people_n = args.people or (200 if args.quick else 1000)
    seconds = args.seconds or (12.0 if args.quick else 60.0)
    providers = [Provider(p) for p in (args.provider or ["google", "microsoft"])]
    results: dict[str, Any] = {}
    figures = []
    for provider in providers:
        r = measure(provider, people_n, seconds, args.events, args.seed)
        results[provider.value] = r
        lat = r["latency_seconds"]
        print(f"{provider.value}: p50 {lat.get('p50', float('nan')):.3f} s  p99 {lat.get('p99', float('nan')):.3f} s"
              f"  max {lat.get('max', float('nan')):.3f} s  ({r['people']} people, {r['rate_per_second']}/s)")
        figures.append(figure(f"{provider.value}: RSVP -> entry visible, p50", lat.get("p50"), "s"))
        figures.append(at_most(f"{provider.value}: RSVP -> entry visible, p99", lat.get("p99", 1e9), TARGET_P99, "s",
                               note=f"{r['people']} people, Poisson {r['rate_per_second']}/s, "
                                    f"{r['not_visible_after_120s']} never visible, "
                                    f"{r['quota_refusals_seen']} quota refusals"))
    path = write_result("rsvp_latency", {
        "revision": git_revision(), "quick": args.quick, "latency_ms_added": LATENCY_MS, "database": "sqlite",
        "conditions": "sandbox in-process over HTTPS, 100 ms added per API request; calsync worker loop in-process "
                      f"(default concurrency {DEFAULT_CONCURRENCY}, idle sleep 0.2 s); SQLite",
        "results": results, "figures": figures,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
