"""$batch (§3.7) and Outlook throttling: 20-request cap, unique ids, Content-Type, dependsOn/424, per-request
throttling, MailboxConcurrency and the 10-minute request window (429 + Retry-After)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

import httpx

from calsync.sandbox.microsoft import MicrosoftSandbox
from calsync.sandbox.server import RunningSandbox

from .conftest import event_body


def test_batch_dispatches_and_orders_dependencies(graph_for: Callable[..., httpx.Client]) -> None:
    """Inner requests run through the same API; a failed request's dependents get 424."""
    g = graph_for("z@example.com")
    ok = {"id": "1", "method": "POST", "url": "/me/events", "headers": {"Content-Type": "application/json"},
          "body": event_body("batched")}
    bad = {"id": "2", "method": "GET", "url": "/me/events/nope", "dependsOn": ["1"]}
    dep = {"id": "3", "method": "GET", "url": "/me/events", "dependsOn": ["2"]}
    r = g.post("/$batch", json={"requests": [ok, bad, dep]})
    assert r.status_code == 200
    by_id = {x["id"]: x for x in r.json()["responses"]}
    assert by_id["1"]["status"] == 201 and by_id["1"]["body"]["subject"] == "batched"
    assert by_id["2"]["status"] == 404 and by_id["2"]["body"]["error"]["code"] == "ErrorItemNotFound"
    assert by_id["3"]["status"] == 424
    assert [e["subject"] for e in g.get("/me/events").json()["value"]] == ["batched"]


def test_batch_validation(graph_for: Callable[..., httpx.Client]) -> None:
    """More than 20 requests, repeated ids, or a body without Content-Type reject the whole batch with 400."""
    g = graph_for("z@example.com")
    many = [{"id": str(i), "method": "GET", "url": "/me"} for i in range(21)]
    assert g.post("/$batch", json={"requests": many}).status_code == 400
    dup = [{"id": "1", "method": "GET", "url": "/me"}, {"id": "1", "method": "GET", "url": "/me"}]
    assert g.post("/$batch", json={"requests": dup}).status_code == 400
    no_type = [{"id": "1", "method": "POST", "url": "/me/events", "body": event_body()}]
    r = g.post("/$batch", json={"requests": no_type})
    assert r.status_code == 400 and "Content-Type" in r.json()["error"]["message"]
    assert g.get("/me/events").json()["value"] == []


def test_batch_inner_requests_throttled_individually(graph_for: Callable[..., httpx.Client],
                                                     ms: MicrosoftSandbox) -> None:
    """With a 3-request window, a batch of 5 gets 200s for the first 3 and inner 429s with Retry-After."""
    g = graph_for("z@example.com")
    ms.set_throttling(requests_per_window=3)
    r = g.post("/$batch", json={"requests": [{"id": str(i), "method": "GET", "url": "/me/events"} for i in range(5)]})
    statuses = sorted(x["status"] for x in r.json()["responses"])
    assert statuses == [200, 200, 200, 429, 429]
    throttled = [x for x in r.json()["responses"] if x["status"] == 429]
    assert all(x["headers"]["Retry-After"] for x in throttled)


def test_request_window_429_and_recovery(sandbox: RunningSandbox, graph_for: Callable[..., httpx.Client],
                                         ms: MicrosoftSandbox) -> None:
    """Past requests_per_window a mailbox gets 429 ApplicationThrottled with Retry-After until the window moves."""
    g = graph_for("z@example.com")
    ms.set_throttling(requests_per_window=2, window_seconds=600)
    assert g.get("/me/events").status_code == 200 and g.get("/me/events").status_code == 200
    r = g.get("/me/events")
    assert r.status_code == 429 and r.json()["error"]["code"] == "ApplicationThrottled"
    assert 1 <= int(r.headers["retry-after"]) <= 600
    sandbox.sandbox.clock.advance(601)
    assert g.get("/me/events").status_code == 200


def test_mailbox_concurrency_limit(sandbox: RunningSandbox, graph_for: Callable[..., httpx.Client]) -> None:
    """With every request slowed down, the fifth concurrent request for one mailbox gets 429 MailboxConcurrency."""
    g = graph_for("z@example.com")
    token = g.headers["Authorization"]
    sandbox.sandbox.faults.microsoft.latency_ms = 1500

    async def burst() -> list[httpx.Response]:
        ctx = ssl.create_default_context(cafile=str(sandbox.tls.ca_cert))
        async with httpx.AsyncClient(verify=ctx, trust_env=False, base_url=str(g.base_url),
                                     headers={"Authorization": token}, timeout=30) as client:
            return await asyncio.gather(*(client.get("/me/events") for _ in range(6)))

    responses = asyncio.run(burst())
    throttled = [r for r in responses if r.status_code == 429]
    assert len([r for r in responses if r.status_code == 200]) == 4 and len(throttled) == 2
    assert throttled[0].json()["error"]["message"] == "Application is over its MailboxConcurrency limit."
    assert throttled[0].headers["retry-after"]
