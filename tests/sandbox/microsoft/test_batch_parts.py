"""$batch inner requests behave as the same requests sent alone: percent-decoded urls, their own faults (§3.7)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import httpx

from calsync.sandbox.server import RunningSandbox

from .conftest import event_body


def test_percent_encoded_ids_in_inner_urls(graph_for: Callable[..., httpx.Client]) -> None:
    """Graph ids end in ``=``; an inner url carrying it as ``%3D`` (as a client quotes it) finds the event."""
    g = graph_for("z@example.com")
    event_id = g.post("/me/events", json=event_body("quoted")).json()["id"]
    assert event_id.endswith("=")
    inner = {"id": "1", "method": "GET", "url": f"/me/events/{quote(event_id, safe='')}"}
    r = g.post("/$batch", json={"requests": [inner]})
    (answer,) = r.json()["responses"]
    assert answer["status"] == 200 and answer["body"]["subject"] == "quoted"


def test_a_fault_hits_one_inner_request_not_the_batch(
    sandbox: RunningSandbox, graph_for: Callable[..., httpx.Client]
) -> None:
    """A one-shot 503 aimed at one event fails only that inner request (Graph's envelope, Retry-After); the
    others and the batch request itself succeed."""
    g = graph_for("z@example.com")
    ids = [g.post("/me/events", json=event_body(f"E{i}")).json()["id"] for i in range(3)]
    sandbox.sandbox.faults.microsoft.fail_next(503, path_contains=f"/graph/v1.0/me/events/{ids[1]}", retry_after=4)
    requests = [{"id": str(i), "method": "GET", "url": f"/me/events/{quote(e, safe='')}"} for i, e in enumerate(ids)]
    r = g.post("/$batch", json={"requests": requests})
    assert r.status_code == 200
    by_id = {x["id"]: x for x in r.json()["responses"]}
    assert [by_id[str(i)]["status"] for i in range(3)] == [200, 503, 200]
    assert by_id["1"]["headers"]["Retry-After"] == "4"
    assert by_id["1"]["body"]["error"]["code"] == "ServiceNotAvailable"
