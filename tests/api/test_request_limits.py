"""Request limits before parsing, on every route (issue 13): 413 over ``max_body_bytes``, 400 deeper than
``max_json_depth``, whatever the route (sign-in and the webhooks included), declared or streamed, and the webhooks
answer any body without a 5xx. Runs on SQLite and PostgreSQL.

Before: 100,000 ``[`` to the Microsoft webhook was a RecursionError, a 500, without authentication.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from calsync.config import Settings
from calsync.store.db import Database
from calsync.web.app import create_app
from calsync.web.limits import depth_exceeds

from .conftest import Api, error_of

ROUTES = [
    ("POST", "/api/v1/session"),
    ("POST", "/api/v1/events"),
    ("PATCH", "/api/v1/people/me"),
    ("POST", "/webhooks/microsoft"),
    ("POST", "/webhooks/google"),
    ("POST", "/signin"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_deep_nesting_is_400_before_parsing_on_every_route(api: Api, snapshot: Any, method: str, path: str) -> None:
    before = snapshot()
    for body, content_type in (
        (b"[" * 100_000, "application/json"),
        (b'{"value": ' * 40 + b"1" + b"}" * 40, "application/json"),
        (b"[" * 5000, "text/plain"),  # the webhook parses JSON whatever the header says
        (b"[" * 5000, ""),
    ):
        headers = {**api.h("admin"), "content-type": content_type}
        response = api.client.request(method, path, headers=headers, content=body)
        assert response.status_code == 400, (path, response.text[:200])
        assert error_of(response)["code"] == "too_deep"
        assert "more than 32 deep" in error_of(response)["message"]
    assert snapshot() == before


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_oversized_bodies_are_413_declared_or_streamed(api: Api, method: str, path: str) -> None:
    big = b"x" * 1_000_001
    declared = api.client.request(method, path, headers=api.h("admin"), content=big)
    assert declared.status_code == 413 and error_of(declared)["code"] == "too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        for _ in range(20):
            yield b"y" * 60_000

    streamed = api.client.request(method, path, headers=api.h("admin"), content=chunks())
    assert streamed.status_code == 413, streamed.text[:200]


def test_the_limits_are_settings(database: Database, data_dir: Path) -> None:
    app = create_app(Settings(data_dir=data_dir, max_body_bytes=2048, max_json_depth=3), database=database)
    with TestClient(app) as client:
        assert client.post("/api/v1/session", content=b"x" * 2049).status_code == 413
        assert client.post("/api/v1/session", content=b"[[[[1]]]]").status_code == 400
        ok = client.post("/api/v1/session", json={"email": "a@b.example", "password": "x"})
        assert ok.status_code == 401


@pytest.mark.parametrize(
    "payload",
    [
        None,
        1,
        "value",
        [1, 2],
        {"value": "nope"},
        {"value": [None, 3, "x", [], {}]},
        {"value": [{"subscriptionId": 7}, {"subscriptionId": None}, {"subscriptionId": ["a"]}]},
        {"value": [{"subscriptionId": "a\u0000b", "clientState": "x"}, {"subscriptionId": "x" * 10_000}]},
        {"value": [{"subscriptionId": "unknown", "clientState": c} for c in (1, 1.5, True, None, [], {}, ["s"])]},
        {"value": [{"subscriptionId": "unknown", "clientState": "s", "lifecycleEvent": {"x": 1}}]},
        {"value": {"subscriptionId": "unknown"}},
    ],
)
def test_graph_notifications_of_any_json_shape_are_202(api: Api, snapshot: Any, payload: Any) -> None:
    before = snapshot()
    response = api.client.post("/webhooks/microsoft", json=payload)
    assert response.status_code == 202, response.text
    assert snapshot() == before


def test_webhook_bodies_that_are_not_utf8_json_are_400(api: Api) -> None:
    for body in (b"\xff\xfe not json", "[1]".encode("utf-16"), b"{not json", b'"\xc3('):
        response = api.client.post("/webhooks/microsoft", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400, response.text
    # deep JSON the bracket scan cannot see (UTF-16, whose escapes it does not read) is still no 500
    sneaky = ('"\\""' + "[" * 5000).encode("utf-16-le")
    assert api.client.post("/webhooks/microsoft", content=sneaky).status_code == 400


def test_the_validation_token_is_echoed_as_plain_text_nosniff(api: Api) -> None:
    token = "<script>alert(1)</script>"
    response = api.client.post("/webhooks/microsoft", params={"validationToken": token})
    assert response.status_code == 200 and response.text == token
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("body", "limit", "deeper"),
    [
        (b"[[[]]]", 3, False),
        (b"[[[[]]]]", 3, True),
        (b'["[[[[[[", "{{{{{{"]', 2, False),  # brackets inside strings do not count
        (b'["\\"[[[[[["]', 2, False),  # nor after an escaped quote
        (b'["\\\\", [[[[]]]]]', 3, True),  # an escaped backslash ends before the quote
        (b'{"a": {"b": {"c": [1, {"d": 2}]}}}', 5, False),
        (b'{"a": {"b": {"c": [1, {"d": 2}]}}}', 4, True),
        (b"[]" * 1000, 1, False),  # many siblings, shallow
    ],
)
def test_depth_scan(body: bytes, limit: int, deeper: bool) -> None:
    assert depth_exceeds(body, limit) is deeper
