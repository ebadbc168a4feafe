"""Batch parts behave as the same calls sent alone: percent-encoded paths, faults that hit one part (§1.7)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import httpx

from .conftest import GoogleKit, when


def _batch(g: GoogleKit, token: str, requests: list[str]) -> httpx.Response:
    body = "".join(
        f"--B\r\nContent-Type: application/http\r\nContent-ID: <p{i}>\r\n\r\n{r}\r\n" for i, r in enumerate(requests)
    ) + "--B--\r\n"
    with g.http() as c:
        return c.post(g.ep["batch"], content=body.encode(), headers={
            "Authorization": f"Bearer {token}", "Content-Type": "multipart/mixed; boundary=B"})


def _parts(response: httpx.Response) -> list[str]:
    """The embedded status lines, in part order."""
    return [line for line in response.text.split("\r\n") if line.startswith("HTTP/1.1 ")]


def test_percent_encoded_calendar_id_in_a_part(g: GoogleKit) -> None:
    """A secondary calendar's id sent percent-encoded (``%40``) in a part's request line finds the calendar."""
    token = g.tokens("alice@example.com")["access_token"]
    cal = g.api("POST", "calendars", token, json={"summary": "Work"}).json()["id"]
    api = urlsplit(g.ep["calendar_api"]).path
    event = '{"summary": "batched", "start": {"dateTime": "2030-01-01T09:00:00Z"}, ' \
            '"end": {"dateTime": "2030-01-01T10:00:00Z"}}'
    r = _batch(g, token, [f"POST {api}calendars/{quote(cal, safe='')}/events HTTP/1.1\r\n"
                          f"Content-Type: application/json\r\n\r\n{event}"])
    assert r.status_code == 200 and _parts(r) == ["HTTP/1.1 200 OK"]
    assert [e["summary"] for e in g.google.events("alice@example.com", cal)] == ["batched"]


def test_a_fault_hits_one_part_not_the_batch(g: GoogleKit) -> None:
    """A one-shot 503 aimed at one event fails only that part (with Retry-After); the others and the batch
    request itself succeed."""
    token = g.tokens("alice@example.com")["access_token"]
    ids = [g.api("POST", "calendars/primary/events", token, json=when(9 + i)).json()["id"] for i in range(3)]
    g.running.sandbox.faults.google.fail_next(503, path_contains=f"/events/{ids[1]}", retry_after=4)
    api = urlsplit(g.ep["calendar_api"]).path
    r = _batch(g, token, [f"GET {api}calendars/primary/events/{i} HTTP/1.1\r\n" for i in ids])
    assert r.status_code == 200
    assert _parts(r) == ["HTTP/1.1 200 OK", "HTTP/1.1 503 Service Unavailable", "HTTP/1.1 200 OK"]
    assert "Retry-After: 4" in r.text or "retry-after: 4" in r.text
