"""Figures as the report shows them: a value beside its target (and baseline), and the percentiles behind them.

Every benchmark writes ``figures``: a list of :func:`figure` dicts. ``bench/report.py`` renders them as they are,
so a benchmark decides what it claims and the report cannot drift from the JSON.
"""

from __future__ import annotations

import math
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): the value at or below which q% of the samples fall."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float]:
    """p50, p90, p99, max and mean of a sample (seconds stay seconds)."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values),
        "mean": sum(values) / len(values),
    }


def figure(
    name: str,
    value: float | None,
    unit: str,
    *,
    target: str | None = None,
    ok: bool | None = None,
    baseline: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """One line of the report. ``target`` is text such as "<= 1 s"; ``ok`` whether the value meets it."""
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok, "baseline": baseline,
            "note": note}


def at_most(name: str, value: float, limit: float, unit: str, **kw: Any) -> dict[str, Any]:
    return figure(name, value, unit, target=f"<= {limit:g} {unit}".strip(), ok=value <= limit, **kw)


def at_least(name: str, value: float, floor: float, unit: str, **kw: Any) -> dict[str, Any]:
    return figure(name, value, unit, target=f">= {floor:g} {unit}".strip(), ok=value >= floor, **kw)
