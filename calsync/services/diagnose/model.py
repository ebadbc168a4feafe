"""The values of a diagnosis: a verdict per check, the facts behind it, and how times are worded."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from enum import Enum

CONNECT_FIX = "Connect the calendar in Profile → Calendar (Google Calendar or Outlook)."
RESYNC_STEP = "Use Resync in Profile → Calendar (or `calsync resync --user EMAIL`)."
WORKER_STEP = "Start the sync workers: `calsync serve` runs them in-process, `calsync worker` on its own."
ERROR_WINDOW = dt.timedelta(hours=24)
GRACE = dt.timedelta(minutes=2)
"""Slack before "late" becomes a warning: a round in progress, clocks a little apart."""

FactValue = str | int | bool | None


class Verdict(str, Enum):
    OK = "ok"
    WARNING = "warning"
    PROBLEM = "problem"

    @property
    def rank(self) -> int:
        return {"ok": 0, "warning": 1, "problem": 2}[self.value]


@dataclasses.dataclass(frozen=True)
class Check:
    """One item of the checklist: what was found, the verdict, what to do next, and the raw facts."""

    key: str
    title: str
    verdict: Verdict
    finding: str
    next_step: str | None = None
    facts: Mapping[str, FactValue] = dataclasses.field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "title": self.title,
            "verdict": self.verdict.value,
            "finding": self.finding,
            "next_step": self.next_step,
            "facts": dict(self.facts),
        }


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    person_id: int
    email: str
    name: str
    organization: str
    event_id: int | None
    checked_at: dt.datetime
    checks: tuple[Check, ...]

    @property
    def verdict(self) -> Verdict:
        return max((c.verdict for c in self.checks), key=lambda v: v.rank, default=Verdict.OK)

    def check(self, key: str) -> Check:
        return next(c for c in self.checks if c.key == key)

    def as_json(self) -> dict[str, object]:
        return {
            "person": {"id": self.person_id, "email": self.email, "name": self.name},
            "organization": self.organization,
            "event_id": self.event_id,
            "checked_at": self.checked_at.isoformat(),
            "verdict": self.verdict.value,
            "checks": [c.as_json() for c in self.checks],
        }


@dataclasses.dataclass(frozen=True)
class DiagnoseOptions:
    """The installation's sync settings the verdicts depend on (read from Settings at the edge)."""

    push_enabled: bool
    poll_interval: float
    lease_seconds: float
    webhook_base_url: str = ""


def when(at: dt.datetime | None, now: dt.datetime) -> str:
    """``2026-03-01 12:00 UTC (5 min ago)``: absolute for the record, relative for the reader."""
    if at is None:
        return "never"
    delta = (now - at).total_seconds()
    span = abs(delta)
    if span < 90:
        rel = f"{span:.0f} s"
    elif span < 5400:
        rel = f"{span / 60:.0f} min"
    elif span < 172800:
        rel = f"{span / 3600:.0f} h"
    else:
        rel = f"{span / 86400:.0f} days"
    return f"{at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC ({rel} {'ago' if delta >= 0 else 'from now'})"


def iso(at: dt.datetime | None) -> str | None:
    return None if at is None else at.isoformat()
