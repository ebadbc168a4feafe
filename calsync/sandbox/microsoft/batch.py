"""JSON batching (provider-facts §3.7): ``POST /$batch`` with at most 20 requests.

Whole-batch 400s: more than 20 requests, duplicate ids, a body without ``headers.Content-Type``, an absolute
url, a ``dependsOn`` naming an unknown id. Inner requests are dispatched through the same :class:`Graph` (so each
is authorised and throttled on its own, and may get its own 429); ``dependsOn`` orders them, and dependents of a
failed request get 424. Responses are returned in completion order, which need not be the request order.

Each inner request also meets the Microsoft fault plan on its own (latency, one-shot failures matched on
``/graph/v1.0/<inner path>``, the error rate), as a request sent alone would: a real batch's inner requests fail
one by one, and the outer request meets the plan once more as a whole. An inner url is percent-decoded like a
request line (Graph ids end in ``=``, sent as ``%3D``).
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from calsync.sandbox.microsoft.errors import GraphError, graph_error_body, render_error

PART_CONCURRENCY = 4
"""Inner requests of one $batch run at once: Graph's concurrent-request limit per mailbox (provider-facts §3.7)."""

if TYPE_CHECKING:
    from calsync.sandbox.microsoft.graph import Graph, GraphRequest, GraphResponse

MAX_REQUESTS = 20


def _validate(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise GraphError(400, "BadRequest", 'The batch body must be {"requests": [{id, method, url, ...}]}.')
    requests: list[dict[str, Any]] = body["requests"]
    if not requests:
        raise GraphError(400, "BadRequest", "The batch contains no requests.")
    if len(requests) > MAX_REQUESTS:
        raise GraphError(
            400,
            "BadRequest",
            f"The batch has {len(requests)} requests; a JSON batch may contain at most {MAX_REQUESTS}.",
        )
    seen: set[str] = set()
    for item in requests:
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("id", "method", "url")):
            raise GraphError(400, "BadRequest", "Each batch request needs string 'id', 'method' and 'url'.")
        if item["id"] in seen:
            raise GraphError(400, "BadRequest", f"Batch request ids must be unique: '{item['id']}' is repeated.")
        seen.add(item["id"])
        if urlsplit(item["url"]).scheme:
            raise GraphError(
                400,
                "BadRequest",
                f"Batch request '{item['id']}' must use a relative url such as '/me/events', not an absolute one.",
            )
        headers = {k.lower(): v for k, v in (item.get("headers") or {}).items()}
        if item.get("body") is not None and "content-type" not in headers:
            raise GraphError(
                400, "BadRequest", f"Write request id : {item['id']} does not contain Content-Type header or body."
            )
    for item in requests:
        for dep in item.get("dependsOn") or []:
            if dep not in seen or dep == item["id"]:
                raise GraphError(400, "BadRequest", f"Batch request '{item['id']}' depends on unknown id '{dep}'.")
    return requests


async def _inner_fault(graph: Graph, method: str, path: str) -> dict[str, Any] | None:
    """The fault plan applied to one inner request, as FaultMiddleware applies it to a request sent alone
    (no hangs: a hang inside a batch is the whole batch hanging, which the outer request already models)."""
    faults = graph.context.faults
    plan = faults.microsoft
    delay = faults.delay_seconds(plan)
    if delay:
        await asyncio.sleep(delay)
    shot = faults.take_one_shot(plan, method, path) if plan.one_shots else None
    if shot is not None:
        status, retry_after = shot.status, shot.retry_after
    elif plan.error_rate and faults.random.random() < plan.error_rate:
        status = faults.random.choice(plan.error_statuses)
        retry_after = plan.retry_after if status in (429, 503) else None
    else:
        return None
    body, headers = render_error(status, retry_after)
    return {"status": status, "headers": {k.title(): v for k, v in headers.items()}, "body": json.loads(body)}


async def run_batch(graph: Graph, req: GraphRequest) -> GraphResponse:
    from calsync.sandbox.microsoft.graph import GraphRequest, GraphResponse, _json

    if req.method != "POST":
        raise GraphError(405, "Request_BadRequest", "$batch accepts only POST.")
    requests = _validate(_json(req))
    results: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    remaining = list(requests)
    gate = asyncio.Semaphore(PART_CONCURRENCY)

    async def one(item: dict[str, Any]) -> dict[str, Any]:
        deps = item.get("dependsOn") or []
        if any(results[d]["status"] >= 400 for d in deps):
            return {
                "id": item["id"],
                "status": 424,
                "headers": {"Content-Type": "application/json"},
                "body": graph_error_body("FailedDependency", "The request depends on a request that failed."),
            }
        url = item["url"] if item["url"].startswith("/") else "/" + item["url"]
        parts = urlsplit(url)
        path = unquote(parts.path)
        async with gate:
            fault = await _inner_fault(graph, item["method"], urlsplit(req.base).path + path)
            if fault is not None:
                return {"id": item["id"], **fault}
            params: dict[str, str] = {}
            for k, v in parse_qsl(parts.query, keep_blank_values=True):
                params.setdefault(k.lower(), v)
            headers = {k.lower(): str(v) for k, v in (item.get("headers") or {}).items()}
            headers["authorization"] = req.headers.get("authorization", "")
            raw = item.get("body")
            body = b"" if raw is None else (raw.encode() if isinstance(raw, str) else json.dumps(raw).encode())
            inner = GraphRequest(item["method"].upper(), path, params, headers, body, req.base)
            response = await graph.dispatch(inner, throttled=True)
        entry: dict[str, Any] = {
            "id": item["id"],
            "status": response.status,
            "headers": {k.title(): v for k, v in response.headers.items()},
        }
        if response.body is not None:
            entry["body"] = response.body
        return entry

    # Requests whose dependencies are answered run together (at most PART_CONCURRENCY at once: Graph's four
    # concurrent requests per mailbox, §3.7); dependsOn chains run in order.
    while remaining:
        ready = [item for item in remaining if all(d in results for d in item.get("dependsOn") or [])]
        if not ready:
            raise GraphError(400, "BadRequest", "The batch's dependsOn references form a cycle.")
        for item in ready:
            remaining.remove(item)
        for item, entry in zip(ready, await asyncio.gather(*(one(item) for item in ready)), strict=True):
            results[item["id"]] = entry
            order.append(item["id"])
    # Graph returns responses in any order; the sandbox returns them newest first to keep clients honest.
    return GraphResponse(200, {"responses": [results[i] for i in reversed(order)]})
