"""calendarView and calendarView/delta (§3.1, §3.5): windows, opaque tokens, @removed, 410 and paging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from calsync.sandbox.microsoft import MicrosoftSandbox

from .conftest import event_body

WINDOW = {"startDateTime": "2030-01-01T00:00:00Z", "endDateTime": "2030-12-31T00:00:00Z"}


def round_trip(g: httpx.Client, first: str, params: dict[str, str] | None = None,
               page_size: int = 2) -> tuple[list[dict[str, Any]], str]:
    """Follow nextLinks to the deltaLink; returns (items, deltaLink)."""
    headers = {"Prefer": f"odata.maxpagesize={page_size}"}
    r = g.get(first, params=params, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    items = list(body["value"])
    while "@odata.nextLink" in body:
        assert "$skiptoken=" in body["@odata.nextLink"]
        body = g.get(body["@odata.nextLink"], headers=headers).json()
        items += body["value"]
    assert "$deltatoken=" in body["@odata.deltaLink"]
    return items, body["@odata.deltaLink"]


def test_calendar_view_requires_window(graph_for: Callable[..., httpx.Client]) -> None:
    """calendarView without both bounds is 400 ErrorInvalidParameter with Graph's message."""
    g = graph_for("p@example.com")
    r = g.get("/me/calendarView", params={"startDateTime": "2030-01-01T00:00:00Z"})
    assert r.status_code == 400 and r.json()["error"] == {**r.json()["error"], "code": "ErrorInvalidParameter"}
    assert r.json()["error"]["message"] == ("This request requires a time window specified by the query string "
                                            "parameters StartDateTime and EndDateTime.")
    assert g.get("/me/calendarView/delta").status_code == 400


def test_calendar_view_returns_overlapping_events(graph_for: Callable[..., httpx.Client]) -> None:
    """Only events overlapping the window are returned, sorted by start."""
    g = graph_for("p@example.com")
    g.post("/me/events", json=event_body("in", start="2030-02-01T09:00:00", end="2030-02-01T10:00:00"))
    g.post("/me/events", json=event_body("out", start="2031-02-01T09:00:00", end="2031-02-01T10:00:00"))
    got = g.get("/me/calendarView", params=WINDOW).json()["value"]
    assert [e["subject"] for e in got] == ["in"]


def test_delta_rounds_pages_and_removed(graph_for: Callable[..., httpx.Client]) -> None:
    """A full round pages with skiptokens; the next round reports updates, deletes and out-of-window changes
    as @removed."""
    g = graph_for("q@example.com")
    ids = [g.post("/me/events", json=event_body(f"e{i}", start=f"2030-02-0{i + 1}T09:00:00",
                                                end=f"2030-02-0{i + 1}T10:00:00")).json()["id"] for i in range(5)]
    items, delta_link = round_trip(g, "/me/calendarView/delta", WINDOW)
    assert sorted(i["id"] for i in items) == sorted(ids)
    g.patch(f"/me/events/{ids[0]}", json={"subject": "renamed"})
    g.delete(f"/me/events/{ids[1]}")
    g.patch(f"/me/events/{ids[2]}", json={"start": {"dateTime": "2032-01-01T09:00:00", "timeZone": "UTC"},
                                            "end": {"dateTime": "2032-01-01T10:00:00", "timeZone": "UTC"}})
    items, delta_link2 = round_trip(g, delta_link)
    by_id = {i["id"]: i for i in items}
    assert by_id[ids[0]]["subject"] == "renamed"
    assert by_id[ids[1]]["@removed"] == {"reason": "deleted"}
    assert by_id[ids[2]]["@removed"] == {"reason": "deleted"}
    assert set(by_id) == {ids[0], ids[1], ids[2]}
    assert round_trip(g, delta_link2)[0] == []


def test_delta_refuses_odata_options(graph_for: Callable[..., httpx.Client]) -> None:
    """$select, $expand, $filter and $orderby on delta are 400."""
    g = graph_for("r@example.com")
    for option in ("$select", "$expand", "$filter", "$orderby"):
        r = g.get("/me/calendarView/delta", params={**WINDOW, option: "subject"})
        assert r.status_code == 400 and option in r.json()["error"]["message"]


def test_unknown_and_expired_tokens_are_410(graph_for: Callable[..., httpx.Client], ms: MicrosoftSandbox) -> None:
    """An unknown token, and any token after expire_delta_tokens(), give 410 syncStateNotFound with Location."""
    g = graph_for("s@example.com")
    r = g.get("/me/calendarView/delta", params={"$deltatoken": "made-up"})
    assert r.status_code == 410 and r.json()["error"]["code"] == "syncStateNotFound" and "location" in r.headers
    _, delta_link = round_trip(g, "/me/calendarView/delta", WINDOW)
    assert ms.expire_delta_tokens() >= 1
    gone = g.get(delta_link)
    assert gone.status_code == 410 and "startDateTime=" in gone.headers["location"]
    restart = g.get(gone.headers["location"])
    assert restart.status_code == 200 and "@odata.deltaLink" in restart.json()


def test_empty_first_page_setting(graph_for: Callable[..., httpx.Client], ms: MicrosoftSandbox) -> None:
    """With delta_empty_first_page a round starts with an empty page that still carries a nextLink."""
    ms.settings.delta_empty_first_page = True
    g = graph_for("t@example.com")
    g.post("/me/events", json=event_body())
    first = g.get("/me/calendarView/delta", params=WINDOW).json()
    assert first["value"] == [] and "@odata.nextLink" in first
    items, _ = round_trip(g, first["@odata.nextLink"])
    assert len(items) == 1


def test_delta_paths(graph_for: Callable[..., httpx.Client], ms: MicrosoftSandbox) -> None:
    """Delta works on /me, /users/{upn} and a secondary calendar; windowless events/delta (beta) is refused."""
    g = graph_for("u@example.com")
    cal = g.post("/me/calendars", json={"name": "calsync"}).json()
    g.post(f"/me/calendars/{cal['id']}/events", json=event_body("secondary"))
    g.post("/me/events", json=event_body("primary"))
    assert [i["subject"] for i in round_trip(g, "/me/calendarView/delta", WINDOW)[0]] == ["primary"]
    assert [i["subject"] for i in round_trip(g, "/users/u@example.com/calendarView/delta", WINDOW)[0]] == ["primary"]
    secondary, _ = round_trip(g, f"/me/calendars/{cal['id']}/calendarView/delta", WINDOW)
    assert [i["subject"] for i in secondary] == ["secondary"]
    assert g.get("/me/events/delta").status_code == 400
    ms.settings.allow_calendar_delta_paths = False
    assert g.get(f"/me/calendars/{cal['id']}/calendarView/delta", params=WINDOW).status_code == 400


@pytest.mark.parametrize("zone", ["Pacific Standard Time", "America/Los_Angeles"])
def test_delta_honours_prefer_timezone(graph_for: Callable[..., httpx.Client], zone: str) -> None:
    """Prefer: outlook.timezone applies to delta pages and is echoed in Preference-Applied."""
    g = graph_for("v@example.com")
    g.post("/me/events", json=event_body(start="2030-07-01T16:00:00", end="2030-07-01T17:00:00"))
    r = g.get("/me/calendarView/delta", params=WINDOW, headers={"Prefer": f'outlook.timezone="{zone}"'})
    assert r.json()["value"][0]["start"] == {"dateTime": "2030-07-01T09:00:00.0000000", "timeZone": zone}
    assert zone in r.headers["preference-applied"]
