"""The batch endpoint with googleapiclient's BatchHttpRequest, and its limits (§1.7)."""

from __future__ import annotations

from typing import Any

from googleapiclient.http import BatchHttpRequest

from .conftest import GoogleKit, reason, when


def run_batch(g: GoogleKit, svc: Any, requests: list[Any]) -> dict[str, tuple[Any, Any]]:
    out: dict[str, tuple[Any, Any]] = {}
    batch = BatchHttpRequest(batch_uri=g.ep["batch"], callback=lambda rid, resp, exc: out.__setitem__(rid, (resp, exc)))
    for request in requests:
        batch.add(request)
    batch.execute(http=svc._http)
    return out


def test_batch_of_inserts_and_gets(g: GoogleKit) -> None:
    """Inserts, a get and a failing get in one batch each come back under their own id."""
    svc = g.service("alice@example.com")
    inserts = [svc.events().insert(calendarId="primary", body={"id": f"batch{i:04d}", **when(9 + i)})
               for i in range(3)]
    out = run_batch(g, svc, [*inserts, svc.events().get(calendarId="primary", eventId="nothere1")])
    assert [out[str(i)][0]["id"] for i in (1, 2, 3)] == ["batch0000", "batch0001", "batch0002"]
    assert out["4"][0] is None and out["4"][1].resp.status == 404
    assert len(g.google.events("alice@example.com")) == 3


def test_batch_parts_count_against_quota(g: GoogleKit) -> None:
    """Each part is a call for quota: with a per-user limit of 2, the third part is userRateLimitExceeded."""
    svc = g.service("alice@example.com")
    g.google.set_quotas(per_user=2)
    out = run_batch(g, svc, [svc.events().insert(calendarId="primary", body=when(9 + i)) for i in range(3)])
    assert out["1"][1] is None and out["2"][1] is None
    assert out["3"][1].resp.status == 403 and reason(out["3"][1]) == "userRateLimitExceeded"


def _raw_batch(parts: list[str], boundary: str = "BOUNDARY") -> bytes:
    chunks = []
    for i, part in enumerate(parts):
        chunks.append(f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <item{i}>\r\n\r\n{part}\r\n")
    return ("".join(chunks) + f"--{boundary}--\r\n").encode()


def test_outer_authorization_applies_and_content_id_echoed(g: GoogleKit) -> None:
    """A part without Authorization uses the outer header; response parts carry Content-ID <response-...>."""
    token = g.tokens("alice@example.com")["access_token"]
    body = _raw_batch(["GET /google/calendar/v3/users/me/calendarList HTTP/1.1\r\n\r\n"])
    with g.http() as c:
        r = c.post(g.ep["batch"], content=body, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "multipart/mixed; boundary=BOUNDARY"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("multipart/mixed; boundary=")
    assert "Content-ID: <response-item0>" in r.text and "HTTP/1.1 200 OK" in r.text
    assert "alice@example.com" in r.text


def test_more_than_1000_parts_is_400(g: GoogleKit) -> None:
    """A batch of 1001 calls is refused as a whole with 400."""
    token = g.tokens("alice@example.com")["access_token"]
    body = _raw_batch(["GET /google/calendar/v3/users/me/calendarList HTTP/1.1\r\n\r\n"] * 1001)
    with g.http() as c:
        r = c.post(g.ep["batch"], content=body, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "multipart/mixed; boundary=BOUNDARY"})
    assert r.status_code == 400 and "1000" in r.json()["error"]["message"]
    with g.http() as c:
        assert c.post(g.ep["batch"], content=b"x", headers={"Content-Type": "text/plain"}).status_code == 400
