"""Run the fault simulation: one seed to replay a failure, or a batch of seeds on several processes.

    python -m tests.simulation.run --seed 1234             # replay one seed: its trace, then its violations
    python -m tests.simulation.run --seeds 0:2000 --jobs 2  # the CI batch
    python -m tests.simulation.run --long --seeds 0:20000   # the long mode: bigger worlds, longer chaos

``--far-future`` places events three years ahead. Every failing seed is printed with the one command that replays
it; the exit status is 1 when any seed failed.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from tests.simulation.harness import POSTGRES_ENV, Harness
from tests.simulation.scenario import SeedResult, run_seed


@dataclass(frozen=True)
class Mode:
    long: bool = False
    far_future: bool = False
    postgres: bool = False
    """On PostgreSQL (the server in ``CALSYNC_TEST_POSTGRES_URL``; a database per process) instead of SQLite."""

    def flags(self) -> str:
        names = ("long", "far_future", "postgres")
        return "".join(f" --{name.replace('_', '-')}" for name in names if getattr(self, name))


_harness: Harness | None = None
_mode = Mode()
SEED_TIMEOUT = 300.0
"""A seed takes well under a second; one that runs for minutes is stuck and fails the batch with the seeds left."""


def replay_command(seed: int, mode: Mode = Mode()) -> str:  # noqa: B008 - frozen
    return f"python -m tests.simulation.run --seed {seed}{mode.flags()}"


def quiet_logging() -> None:
    """The engine logs every transient failure it recovers from; the simulation provokes thousands."""
    logging.disable(logging.CRITICAL)
    warnings.filterwarnings("ignore")


def _init(mode: Mode) -> None:
    global _harness, _mode
    quiet_logging()
    postgres_url = None
    if mode.postgres:
        postgres_url = os.environ.get(POSTGRES_ENV)
        if not postgres_url:
            raise SystemExit(f"--postgres needs {POSTGRES_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres)")
    _harness, _mode = Harness(postgres_url=postgres_url), mode


def _one(seed: int) -> SeedResult:
    assert _harness is not None
    try:
        return run_seed(_harness, seed, long=_mode.long, far_future=_mode.far_future)
    except Exception as exc:  # noqa: BLE001 - a seed that crashes the simulation itself is a failing seed too
        result = SeedResult(seed)
        result.violations.append(f"the simulation crashed: {type(exc).__name__}: {exc}")
        return result


@dataclass
class BatchResult:
    mode: Mode
    seeds: int = 0
    failures: list[SeedResult] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0

    @property
    def seeds_per_second(self) -> float:
        return self.seeds / self.elapsed if self.elapsed else 0.0

    def summary(self) -> str:
        lines = [
            f"{self.seeds} seeds in {self.elapsed:.1f} s ({self.seeds_per_second:.2f} seeds/s), "
            f"{len(self.failures)} failed",
            "totals: " + ", ".join(f"{k}={v}" for k, v in sorted(self.stats.items())),
        ]
        for failed in self.failures[:20]:
            lines.append(f"FAILED seed {failed.seed}: replay with `{replay_command(failed.seed, self.mode)}`")
            lines.extend(f"    {v}" for v in failed.violations[:5])
        if len(self.failures) > 20:
            lines.append(f"... and {len(self.failures) - 20} more failing seeds")
        return "\n".join(lines)

    def add(self, result: SeedResult) -> None:
        self.seeds += 1
        for name, value in result.stats.items():
            self.stats[name] = max(self.stats[name], value) if name.endswith("_max") else self.stats[name] + value
        if not result.ok:
            self.failures.append(result)

    def write_traces(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        for failed in self.failures:
            with open(os.path.join(directory, f"seed-{failed.seed}.txt"), "w") as fh:
                fh.write("\n".join([*failed.trace, "", *failed.violations, ""]))


def run_batch(seeds: Iterable[int], *, jobs: int, mode: Mode = Mode()) -> BatchResult:  # noqa: B008 - frozen
    """Run ``seeds`` on ``jobs`` processes (each with its own sandbox); collects the failing seeds."""
    seed_list = list(seeds)
    out = BatchResult(mode)
    started = time.perf_counter()
    if jobs <= 1:
        previous = logging.root.manager.disable
        with warnings.catch_warnings():
            _init(mode)
            assert _harness is not None
            try:
                for seed in seed_list:
                    out.add(_one(seed))
            finally:
                _harness.close()
                logging.disable(previous)  # in-process (pytest): leave logging as it was
    else:
        with multiprocessing.get_context("spawn").Pool(jobs, initializer=_init, initargs=(mode,)) as pool:
            results = pool.imap_unordered(_one, seed_list)  # chunks of 1: next() then takes a timeout
            pending = set(seed_list)
            while pending:
                try:
                    result = results.next(timeout=SEED_TIMEOUT)
                except multiprocessing.TimeoutError:
                    raise RuntimeError(
                        f"no seed finished within {SEED_TIMEOUT:.0f} s: one hangs; not finished: "
                        f"{sorted(pending)[:20]} (replay them one by one)"
                    ) from None
                pending.discard(result.seed)
                out.add(result)
    out.failures.sort(key=lambda r: r.seed)
    out.elapsed = time.perf_counter() - started
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.simulation.run", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, help="replay one seed and print its trace")
    parser.add_argument("--seeds", default="0:200", help="a range START:END of seeds for a batch (default 0:200)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="processes (default: one per core)")
    parser.add_argument("--long", action="store_true", help="bigger worlds and longer chaos per seed")
    parser.add_argument("--far-future", action="store_true", help="events three years ahead (beyond Graph's window)")
    parser.add_argument("--postgres", action="store_true", help=f"run on PostgreSQL (the server in {POSTGRES_ENV})")
    parser.add_argument("--quiet", action="store_true", help="with --seed: violations only, no trace")
    parser.add_argument("--trace-dir", help="write each failing seed's trace to DIR/seed-N.txt")
    args = parser.parse_args(argv)
    mode = Mode(long=args.long, far_future=args.far_future, postgres=args.postgres)
    if args.seed is not None:
        _init(mode)
        assert _harness is not None
        try:
            result = _one(args.seed)  # exact: the same trace every time (docs/simulation.md, "Replaying")
        finally:
            _harness.close()
        if not args.quiet:
            print("\n".join(result.trace))
        print(f"seed {args.seed}: {len(result.violations)} violations in {result.elapsed:.2f} s; {dict(result.stats)}")
        for v in result.violations:
            print(f"  {v}")
        return 0 if result.ok else 1
    start, _, end = args.seeds.partition(":")
    if not (start.isdigit() and end.isdigit() and int(start) < int(end)):
        parser.error(f"--seeds takes START:END with START < END, e.g. 0:2000 (got {args.seeds!r})")
    batch = run_batch(range(int(start), int(end)), jobs=args.jobs, mode=mode)
    print(batch.summary())
    if args.trace_dir:
        batch.write_traces(args.trace_dir)
    return 0 if not batch.failures else 1


if __name__ == "__main__":
    sys.exit(main())
