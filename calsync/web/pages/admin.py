"""Admin: the organization's modules (administrators switch them), connections by state, recent sync errors from
the connection logs, whether worker processes are alive, and each connection's push-channel expiry.

Support staff may read this page (the internal note's checks, for the whole organization) but not switch modules.
Members and organizers get 403.

**The sync chart.** Issue 6 asks for "a small chart of sync lag over the last hours". From the connection logs
(docs/pages.md), per 10-minute slot of the last 6 hours: the sync rounds that changed something (the engine logs
one ``sync`` line per such round, sync/engine.py), the error lines (``level == "error"``: failed rounds, refused
tokens), and the sync lag, the longest wait from a change to the calendar among the slot's rounds (the ``lag_ms``
the engine records on each ``sync`` line, migration 0003). The logs keep the last 200 lines per
connection (store ``LOG_KEEP``), so for a very busy connection the oldest slots may be undercounted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from calsync.core.connection import ConnectionStatus
from calsync.core.model import Module
from calsync.errors import InvalidInput, PermissionDenied
from calsync.services import admin, organizations, people
from calsync.services.uow import unit_of_work
from calsync.store.connections import LOG_KEEP, ConnectionRepository, LogLine
from calsync.web.pages.common import Form, PageRoute, calendar, checked_form, ctx, redirect, render, viewer

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MODULE_LABELS = {Module.EVENTS: "Events (events, RSVPs and calendar sync)"}


@router.get("/admin")
def admin_page(request: Request) -> Response:
    view = viewer(request)
    if not view.sees_admin:
        raise PermissionDenied("Only administrators and support staff can see the admin page.")
    overview = admin.organization_overview(calendar(request), view.principal)
    names = {p.id: p for p in people.list_people(ctx(request), view.principal)}
    lines = _organization_log(request, [c.id for c in overview.connections], overview.now - CHART_SPAN)
    return render(
        request,
        "admin.html",
        view,
        overview=overview,
        people=names,
        modules=list(Module),
        module_labels=MODULE_LABELS,
        statuses=list(ConnectionStatus),
        notice=request.query_params.get("done"),
        chart=sync_chart(lines, overview.now),
    )


@router.post("/admin/modules")
def set_module(request: Request, form: Annotated[Form, Depends(checked_form)]) -> Response:
    view = viewer(request)
    try:
        module = Module(form.get("module"))
    except ValueError:
        raise InvalidInput(f"There is no module “{form.get('module')}”.", field="module") from None
    enabled = form.get("enabled") in ("1", "on", "true")
    organizations.set_module(ctx(request), view.principal, module, enabled)
    return redirect("/admin?done=modules")


# ---- the sync chart --------------------------------------------------------------------------------------------

CHART_SPAN = dt.timedelta(hours=6)
CHART_SLOT = dt.timedelta(minutes=10)
CHART_WIDTH, CHART_HEIGHT, CHART_TOP = 720, 140, 8
"""SVG user units; the SVG scales to its container (viewBox), so it fits a phone."""


@dataclass(frozen=True)
class Slot:
    start: dt.datetime
    rounds: int
    errors: int
    max_lag_ms: int | None = None
    """The longest wait from a change to the calendar among the rounds in this slot."""


@dataclass(frozen=True)
class Bar:
    """One slot as drawn: x and width, and the heights of its rounds bar and its errors bar (SVG units)."""

    slot: Slot
    x: float
    width: float
    rounds_height: float
    errors_height: float


@dataclass(frozen=True)
class SyncChart:
    slots: list[Slot]
    bars: list[Bar]
    peak: int
    width: int
    height: int
    baseline: float
    lag_points: str = ""
    """SVG polyline points of each slot's longest sync lag (scaled to the longest lag shown)."""
    max_lag_ms: int | None = None

    @property
    def total_rounds(self) -> int:
        return sum(s.rounds for s in self.slots)

    @property
    def total_errors(self) -> int:
        return sum(s.errors for s in self.slots)


def _organization_log(request: Request, connection_ids: Iterable[int], since: dt.datetime) -> list[LogLine]:
    """The organization's connection log lines since ``since`` (one read, one query per connection)."""
    with unit_of_work(ctx(request).db, write=False) as uow:
        repo = ConnectionRepository(uow.session)
        return [line for cid in connection_ids for line in repo.recent_log(cid, LOG_KEEP) if line.at >= since]


def sync_slots(
    lines: Sequence[LogLine], now: dt.datetime, span: dt.timedelta = CHART_SPAN, slot: dt.timedelta = CHART_SLOT
) -> list[Slot]:
    """Count rounds that changed something (``sync`` lines) and error lines per ``slot`` over the last ``span``,
    oldest first. Pure, so the counting is tested without a database."""
    count = int(span / slot)
    start = now - count * slot
    rounds = [0] * count
    errors = [0] * count
    lags: list[int | None] = [None] * count
    for line in lines:
        if line.at < start or line.at > now:
            continue
        i = min(int((line.at - start) / slot), count - 1)
        if line.action == "sync":
            rounds[i] += 1
            if line.lag_ms is not None:
                lags[i] = max(lags[i] or 0, line.lag_ms)
        if line.level == "error":
            errors[i] += 1
    return [Slot(start + i * slot, rounds[i], errors[i], lags[i]) for i in range(count)]


def sync_chart(lines: Sequence[LogLine], now: dt.datetime) -> SyncChart:
    """The slots laid out as bars: rounds in the left half of each slot, errors in the right half."""
    slots = sync_slots(lines, now)
    peak = max((max(s.rounds, s.errors) for s in slots), default=0)
    baseline = float(CHART_HEIGHT - 20)
    usable = baseline - CHART_TOP
    step = CHART_WIDTH / max(len(slots), 1)
    half = step * 0.4

    def height(n: int) -> float:
        return round(usable * n / peak, 1) if peak else 0.0

    bars = [
        Bar(s, round(i * step + step * 0.1, 1), round(half, 1), height(s.rounds), height(s.errors))
        for i, s in enumerate(slots)
    ]
    max_lag = max((s.max_lag_ms for s in slots if s.max_lag_ms is not None), default=None)
    points = " ".join(
        f"{round(i * step + step / 2, 1)},{round(baseline - usable * (s.max_lag_ms / max_lag), 1)}"
        for i, s in enumerate(slots)
        if s.max_lag_ms is not None and max_lag
    )
    return SyncChart(slots, bars, peak, CHART_WIDTH, CHART_HEIGHT, baseline, points, max_lag)
