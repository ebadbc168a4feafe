"""The admin page's sync chart: rounds and errors per 10 minutes over the last 6 hours, from the connection logs."""

from __future__ import annotations

import datetime as dt
from html import unescape

from calsync.core.model import Role
from calsync.store.connections import ConnectionRepository, LogLine
from calsync.web.pages.admin import sync_slots
from tests.pages.conftest import Site, add_connection


def test_slots_count_rounds_and_errors_in_their_ten_minutes() -> None:
    """Lines fall in their slot (oldest first); lines older than 6 hours or in the future are left out."""
    now = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)
    lines = [
        LogLine(now - dt.timedelta(minutes=3), "info", "sync", None, "incremental round: 1 created"),
        LogLine(now - dt.timedelta(minutes=4), "error", "sync-error", None, "429 (retry in 30 s)"),
        LogLine(now - dt.timedelta(minutes=15), "error", "sync", None, "incremental round: 1 error"),
        LogLine(now - dt.timedelta(hours=7), "info", "sync", None, "too old"),
        LogLine(now + dt.timedelta(minutes=1), "info", "sync", None, "clock skew"),
        LogLine(now - dt.timedelta(minutes=1), "info", "connect", None, "not a round"),
    ]
    slots = sync_slots(lines, now)
    assert len(slots) == 36 and slots[0].start == now - dt.timedelta(hours=6)
    assert (slots[-1].rounds, slots[-1].errors) == (1, 1)
    assert (slots[-2].rounds, slots[-2].errors) == (1, 1)
    assert sum(s.rounds for s in slots) == 2 and sum(s.errors for s in slots) == 2


def test_admin_page_draws_the_chart_from_the_connection_logs(site: Site) -> None:
    """Two rounds and one error in the log show as an inline SVG with two round bars, one error bar and a summary."""
    empty = unescape(site.browser(Role.SUPPORT).get("/admin").text)
    assert 'data-testid="sync-chart-empty"' in empty and "0 sync rounds that changed something and 0 errors" in empty
    connection_id = add_connection(site.ctx, site.person(Role.MEMBER))
    now = site.ctx.now()
    with site.ctx.db.session() as session:
        repo = ConnectionRepository(session)
        repo.log(connection_id, now - dt.timedelta(minutes=5), "sync", "incremental round: 1 created")
        repo.log(connection_id, now - dt.timedelta(hours=2), "sync", "full round: 3 created")
        repo.log(connection_id, now - dt.timedelta(minutes=5), "auth-error", "invalid_grant", level="error")
        repo.log(connection_id, now - dt.timedelta(hours=8), "sync", "too old for the chart")
    html = unescape(site.browser(Role.ADMIN).get("/admin").text)
    assert '<svg viewBox="0 0 720 140"' in html and 'role="img"' in html
    assert "2 sync rounds that changed something and 1 error in the last 6 hours; at most 1 in one" in html
    assert html.count('data-testid="bar-rounds"') == 2
    assert html.count('data-testid="bar-errors"') == 1
    assert 'data-testid="sync-chart-empty"' not in html


def test_slots_keep_the_longest_lag_and_the_chart_draws_it() -> None:
    """Each slot keeps the longest change-to-calendar wait of its rounds; the chart draws them as a line."""
    from calsync.web.pages.admin import sync_chart

    now = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)
    lines = [
        LogLine(now - dt.timedelta(minutes=2), "info", "sync", None, "round", 400),
        LogLine(now - dt.timedelta(minutes=3), "info", "sync", None, "round", 1200),
        LogLine(now - dt.timedelta(minutes=25), "info", "sync", None, "round", 300),
        LogLine(now - dt.timedelta(minutes=35), "info", "sync", None, "a round that wrote nothing", None),
    ]
    slots = sync_slots(lines, now)
    assert slots[-1].max_lag_ms == 1200 and slots[-3].max_lag_ms == 300 and slots[-4].max_lag_ms is None
    chart = sync_chart(lines, now)
    assert chart.max_lag_ms == 1200 and len(chart.lag_points.split()) == 2
