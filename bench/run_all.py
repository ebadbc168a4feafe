"""Run every benchmark, each in its own process, then render bench/REPORT.md (issue 7's one command).

    .venv/bin/python -m bench.run_all [--quick] [--only NAME ...]

``--quick`` runs each with smaller numbers and finishes in a few minutes; the full set takes about half an hour on
the 2-core machine. PostgreSQL cases need CALSYNC_TEST_POSTGRES_URL (workers_scaling fails without it,
scale_memory skips its PostgreSQL half). A benchmark that fails is reported and the others still run; the exit
status says whether all of them finished.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

BENCHMARKS = ["rsvp_latency", "push_throughput", "pull_latency", "api_calls", "workers_scaling", "scale_memory"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", action="append", choices=BENCHMARKS)
    args = parser.parse_args()
    failed = []
    for name in args.only or BENCHMARKS:
        cmd = [sys.executable, "-m", f"bench.{name}", *(["--quick"] if args.quick else [])]
        print(f"== {' '.join(cmd[1:])}", flush=True)
        start = time.monotonic()
        code = subprocess.run(cmd, check=False).returncode
        print(f"== {name}: {'ok' if code == 0 else f'FAILED (exit {code})'} in {time.monotonic() - start:.0f} s",
              flush=True)
        if code != 0:
            failed.append(name)
    subprocess.run([sys.executable, "-m", "bench.report"], check=True)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
