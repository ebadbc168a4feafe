"""The batch endpoint: multipart/mixed of embedded HTTP requests, answered part by part (provider-facts §1.7).

Each part is dispatched through the same (faulted) Calendar API app, with its own headers; the outer
``Authorization`` applies to a part that has none. So each part meets the fault plan (latency, one-shots, error
rate) on its own, as the outer request does once more as a whole, and every part counts against quota, since it
goes through the normal endpoint. A part's path is percent-decoded as a request line's is (ASGI ``path`` decoded,
``raw_path`` not), so ``calendars/c_…%40group.calendar.google.com`` finds its calendar. Response parts carry
``Content-ID: <response-{inner id}>`` exactly: googleapiclient splits the header on ``" + "`` to match responses
to requests and raises BatchError otherwise.
"""

from __future__ import annotations

import asyncio
import email.message
import email.parser
import email.policy
import http
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message

from calsync.sandbox.google.errors import ApiError, bad_request

PART_CONCURRENCY = 10
"""Parts of one batch the emulator runs at once (an assumption: Google documents no number)."""

MAX_PARTS = 1000


@dataclass
class Part:
    content_id: str | None
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes


def parse_parts(content_type: str, body: bytes) -> list[Part]:
    """Split a batch body into its embedded requests; a malformed batch is a 400 that says what is wrong."""
    if not content_type.lower().startswith("multipart/mixed") or "boundary=" not in content_type:
        raise bad_request("A batch request must be multipart/mixed with a boundary.")
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    payload = message.get_payload()
    if not isinstance(payload, list):
        raise bad_request("The batch body holds no parts.")
    if len(payload) > MAX_PARTS:
        raise bad_request(f"A batch request can hold at most {MAX_PARTS} calls; this one holds {len(payload)}.")
    parts = []
    for item in payload:
        if not isinstance(item, email.message.Message):
            raise bad_request("Each batch part must be one application/http request.")
        raw = item.get_payload(decode=False)
        if not isinstance(raw, str):
            raise bad_request("Each batch part must be one application/http request.")
        parts.append(_parse_http(item.get("Content-ID"), raw))
    return parts


def _parse_http(content_id: str | None, raw: str) -> Part:
    text = raw.lstrip("\r\n")
    head, sep, rest = text.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    request_line = lines[0].split()
    if len(request_line) < 2:
        raise bad_request(f"Bad embedded request line {lines[0]!r}: expected 'METHOD /path HTTP/1.1'.")
    method, target = request_line[0].upper(), request_line[1]
    url = urlsplit(target)
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers.append((name.strip().lower(), value.strip()))
    body = rest.rstrip("\n").encode() if sep else b""
    return Part(content_id, method, url.path, url.query, headers, body)


async def call_app(app: ASGIApp, outer: Request, part: Part) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run one embedded request through ``app`` in-process and collect its response."""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in part.headers if k != "content-length"]
    if not any(k == "authorization" for k, _ in part.headers):
        auth = outer.headers.get("authorization")
        if auth:
            headers.append((b"authorization", auth.encode("latin-1")))
    if not any(k == "host" for k, _ in part.headers):
        headers.append((b"host", outer.url.netloc.encode()))
    headers.append((b"content-length", str(len(part.body)).encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": part.method,
        "scheme": outer.url.scheme,
        "path": unquote(part.path),
        "raw_path": part.path.encode(),
        "root_path": "",
        "query_string": part.query.encode(),
        "headers": headers,
        "client": outer.scope.get("client"),
        "server": outer.scope.get("server"),
    }
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": part.body, "more_body": False}

    status = 500
    out_headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status, out_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, out_headers, b"".join(chunks)


async def handle_batch(app: ASGIApp, request: Request) -> Response:
    """POST /google/batch/calendar/v3."""
    try:
        parts = parse_parts(request.headers.get("content-type", ""), await request.body())
    except ApiError as exc:
        return exc.response()
    except (ValueError, UnicodeError) as exc:
        return bad_request(f"Malformed batch request: {exc}").response()
    boundary = "batch_" + secrets.token_hex(12)
    out: list[bytes] = []
    # Parts run concurrently, at most PART_CONCURRENCY at a time, each with its own latency and faults: Google
    # "may perform the calls in any order" (§1.7); how many it runs at once is UNCONFIRMED (docs/sandbox.md).
    gate = asyncio.Semaphore(PART_CONCURRENCY)

    async def one(part: Part) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        async with gate:
            return await call_app(app, request, part)

    answers = await asyncio.gather(*(one(part) for part in parts))
    for part, (status, headers, body) in zip(parts, answers, strict=True):
        phrase = http.HTTPStatus(status).phrase if status in http.HTTPStatus._value2member_map_ else ""
        lines = [f"--{boundary}", "Content-Type: application/http"]
        if part.content_id:
            inner = part.content_id.strip()
            if inner.startswith("<") and inner.endswith(">"):
                inner = inner[1:-1]
            lines.append(f"Content-ID: <response-{inner}>")
        lines += ["", f"HTTP/1.1 {status} {phrase}"]
        lines += [f"{k.decode('latin-1')}: {v.decode('latin-1')}" for k, v in headers if k != b"content-length"]
        lines += [f"Content-Length: {len(body)}", "", ""]
        out.append("\r\n".join(lines).encode() + body + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return Response(b"".join(out), 200, media_type=f"multipart/mixed; boundary={boundary}")
