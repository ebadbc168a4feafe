"""Shared bits of the benchmarks: where reports go, and a description of the machine they ran on."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """What the figures were measured on (they mean little without it)."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {"cores": os.cpu_count(), "cpu": cpu, "memory_gib": mem_gib, "python": platform.python_version(),
            "kernel": platform.release()}


def write_result(name: str, data: dict[str, Any]) -> Path:
    """Write one benchmark's figures as JSON under bench/results/ (bench/report.py renders them)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2, default=str) + "\n")
    return path


def git_revision() -> str:
    """The revision of the calsync being measured: ``CALSYNC_BENCH_REVISION`` when the benchmark runs on an export
    of a commit (e.g. ``git archive HEAD`` while others have uncommitted changes in the tree), else HEAD, with
    ``+dirty`` when calsync/ has uncommitted changes (the figures then describe no commit exactly)."""
    if os.environ.get("CALSYNC_BENCH_REVISION"):
        return os.environ["CALSYNC_BENCH_REVISION"]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "calsync"], capture_output=True, text=True,
                               check=False).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}+dirty" if head and dirty else head or "unknown"
