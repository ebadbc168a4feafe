"""Graph JSON batching: up to 20 requests in one ``POST /$batch`` (provider-facts §3.7).

Each request gets a unique id (a repeated id fails the whole batch with 400); answers come back in any order and
are matched by id. Each inner request is authorised and throttled on its own, so one may get its own 429 while the
others succeed: every answer is returned as an ``httpx.Response`` that the adapter maps with the same
``map_error`` as a single call. The outer status is 200 whenever the batch parses; anything else raises, mapped as
a single call's would be.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from calsync.errors import ProviderUnreadable
from calsync.providers.microsoft.rest import GraphRest

MAX_REQUESTS = 20
"""Graph's documented cap per ``$batch`` (§3.7)."""


def _unreadable(what: str) -> ProviderUnreadable:
    return ProviderUnreadable(
        f"Microsoft sent a batch answer calsync cannot read ({what}); its outcome is unknown. Try again later.",
        provider="microsoft",
        status=200,
        code="unreadable_answer",
    )


def request(method: str, url: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One inner request; a body needs ``headers.Content-Type`` or Graph refuses the whole batch (§3.7)."""
    out: dict[str, Any] = {"method": method, "url": url}
    if body is not None:
        out["headers"] = {"Content-Type": "application/json"}
        out["body"] = dict(body)
    return out


def send(rest: GraphRest, token: str, requests: Sequence[dict[str, Any]]) -> list[httpx.Response]:
    """POST one ``$batch`` (at most :data:`MAX_REQUESTS`) and return each request's answer in request order."""
    if len(requests) > MAX_REQUESTS:
        raise ValueError(f"a Graph batch holds at most {MAX_REQUESTS} requests, not {len(requests)}")
    payload = {"requests": [{"id": str(i), **r} for i, r in enumerate(requests)]}
    body = rest.call_json("POST", "/$batch", token, json=payload)
    responses = body["responses"]
    if not isinstance(responses, list):
        raise _unreadable("'responses' is not a list")
    found: dict[int, httpx.Response] = {}
    for item in responses:
        if not isinstance(item, dict):
            raise _unreadable("an answer that is not an object")
        rid, status = str(item.get("id")), item.get("status")
        if not rid.isdigit() or int(rid) >= len(requests) or int(rid) in found or not isinstance(status, int):
            raise _unreadable(f"an answer with id {rid!r} and status {status!r}")
        headers = {str(k): str(v) for k, v in (item.get("headers") or {}).items()}
        inner = item.get("body")
        content = b"" if inner is None else json.dumps(inner).encode()
        found[int(rid)] = httpx.Response(status, headers=headers, content=content)
    if len(found) != len(requests):
        raise _unreadable(f"{len(found)} answers for {len(requests)} requests")
    return [found[i] for i in range(len(requests))]
