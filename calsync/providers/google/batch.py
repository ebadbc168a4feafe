"""Google's batch endpoint: several Calendar calls in one HTTP request (provider-facts §1.7).

The request is ``multipart/mixed``; each part is ``Content-Type: application/http`` with a ``Content-ID`` and holds
one embedded request (request line, headers, body). The answer is ``multipart/mixed`` too, each part carrying
``Content-ID: <response-{the request's id}>`` and one embedded HTTP response, so answers are matched by id, never
by position. Each part counts against quota as a call of its own, and fails on its own (a 429 or 5xx in one part
leaves the others done), so every part's answer is returned as an ``httpx.Response`` that the adapter maps with
the same ``map_error`` as a single call.

Written over the standard library's ``email`` parser and the shared :class:`~calsync.providers.rest.Rest` client:
no extra dependency for a format this small.
"""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from calsync.errors import ProviderUnreadable
from calsync.providers.google.rest import GoogleRest

_PARSER = email.parser.BytesParser(policy=email.policy.compat32)
"""The legacy policy: headers stay plain strings. The modern policies build a header object per header, which
cost ~5 ms of CPU per entry in a 40-part answer (bench/results/push_profile.txt)."""


@dataclass(frozen=True)
class BatchCall:
    """One embedded request: ``path`` is relative to the Calendar API base (as for :meth:`GoogleRest.call`)."""

    method: str
    path: str
    json: Any = None
    headers: tuple[tuple[str, str], ...] = ()


def _unreadable(what: str, status: int) -> ProviderUnreadable:
    return ProviderUnreadable(
        f"Google sent a batch answer calsync cannot read ({what}); its outcome is unknown. Try again later.",
        provider="google",
        status=status,
        code="unreadable_answer",
    )


def encode(calls: Sequence[BatchCall], api_path: str, token: str, boundary: str) -> bytes:
    """The multipart/mixed body for ``calls``; part ``i`` has ``Content-ID: <calsync-i>``.

    The token goes in every part as googleapiclient sends it (the outer ``Authorization`` would also apply to a
    part without one, §1.7)."""
    out: list[bytes] = []
    for i, call in enumerate(calls):
        body = b"" if call.json is None else json.dumps(call.json).encode()  # ASCII: \\u-escapes, no charset issue
        lines = [
            f"--{boundary}",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            f"Content-ID: <calsync-{i}>",
            "",
            f"{call.method} {api_path}{call.path.lstrip('/')} HTTP/1.1",
            f"Authorization: Bearer {token}",
        ]
        if call.json is not None:
            lines.append("Content-Type: application/json; charset=UTF-8")
        lines += [f"{k}: {v}" for k, v in call.headers]
        lines += [f"Content-Length: {len(body)}", "", ""]
        out.append("\r\n".join(lines).encode() + body + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def _embedded_response(raw: bytes, status: int) -> httpx.Response:
    head, _, rest = raw.lstrip(b"\r\n").partition(b"\n")
    words = head.decode("latin-1").split()
    if len(words) < 2 or not words[0].startswith("HTTP/") or not words[1].isdigit():
        raise _unreadable(f"a part without an HTTP status line: {head[:60]!r}", status)
    inner = _PARSER.parsebytes(rest)
    body = inner.get_payload(decode=True)
    content = body.rstrip(b"\r\n") if isinstance(body, bytes) else b""
    headers = [(k, str(v)) for k, v in inner.items() if k.lower() != "content-length"]
    return httpx.Response(int(words[1]), headers=headers, content=content)


def decode(response: httpx.Response, count: int) -> list[httpx.Response]:
    """The ``count`` embedded answers of a batch response, in request order; any part missing, repeated or
    unreadable makes the whole answer unreadable (which calls were applied cannot be told)."""
    content_type = response.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/"):
        raise _unreadable(f"{content_type or 'no content type'}, not multipart/mixed", response.status_code)
    message = _PARSER.parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + response.content)
    parts = message.get_payload()
    if not isinstance(parts, list):
        raise _unreadable("a multipart answer without parts", response.status_code)
    found: dict[int, httpx.Response] = {}
    for part in parts:
        if not isinstance(part, email.message.Message):
            raise _unreadable("a part that is not a message", response.status_code)
        cid = str(part.get("Content-ID", "")).strip().strip("<>")
        index = cid.removeprefix("response-").removeprefix("calsync-")
        raw = part.get_payload(decode=True)
        if not cid.startswith("response-calsync-") or not index.isdigit() or not isinstance(raw, bytes):
            raise _unreadable(f"a part with Content-ID {cid!r}", response.status_code)
        if int(index) in found or int(index) >= count:
            raise _unreadable(f"an unexpected part {cid!r}", response.status_code)
        found[int(index)] = _embedded_response(raw, response.status_code)
    if len(found) != count:
        raise _unreadable(f"{len(found)} answers for {count} calls", response.status_code)
    return [found[i] for i in range(count)]


def send(rest: GoogleRest, token: str, calls: Sequence[BatchCall]) -> list[httpx.Response]:
    """POST one batch (at most the caller's chunk size) and return each call's answer in order. A failure of the
    batch request itself raises the mapped error, as a single call would."""
    boundary = "calsync_" + secrets.token_hex(12)
    api_path = urlsplit(rest.endpoints.calendar_api).path.rstrip("/") + "/"
    body = encode(calls, api_path, token, boundary)
    response = rest.call(
        "POST",
        rest.endpoints.batch,
        token,
        content=body,
        headers={"Content-Type": f"multipart/mixed; boundary={boundary}"},
    )
    return decode(response, len(calls))
