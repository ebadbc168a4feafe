"""Request limits, checked before any route parses anything (an ASGI middleware around the whole app).

Every request, on every route (the API, sign-in, the pages' forms, the provider webhooks):

* a body larger than ``Settings.max_body_bytes`` is **413**: refused on its declared ``Content-Length`` before a
  byte is read, or as soon as a streamed (chunked) body passes the limit;
* a body nested deeper than ``Settings.max_json_depth`` (arrays and objects) is **400**, found by a scan that
  counts brackets outside strings. Python's ``json`` recurses once per level, so a megabyte of ``[`` was a
  RecursionError (a 500) before this; the scan needs no parse and no recursion. Form bodies (urlencoded,
  multipart) have no nesting and are not scanned;
* a NUL character in the path or a query parameter (``%00``) is **422**: PostgreSQL cannot store it, and no URL
  of calsync's needs it (request bodies are checked field by field: ``calsync.web.schemas.Request``).

The body is read once here and replayed to the app, so the limits cost one buffer of at most ``max_body_bytes``.
A refusal is the API's JSON error, or a small HTML page when a browser asked for a page.
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calsync.web.errors import error_body

_BRACKETS = re.compile(rb'["\\\[\]{}]')
_FORMS = ("application/x-www-form-urlencoded", "multipart/")
_NUL_IN_URL = re.compile(rb"%00|\x00", re.IGNORECASE)


class TooLarge(Exception):
    """The body passed the size limit while it was being read."""


def depth_exceeds(body: bytes, limit: int) -> bool:
    """True if ``body`` nests arrays/objects more than ``limit`` deep (brackets inside JSON strings ignored).

    Not a validator: malformed JSON is left to the parser, which no longer recurses dangerously once the depth is
    known to be small. Bodies with fewer brackets than the limit are passed without a scan (the common case).
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    in_string = False
    escaped_at = -1  # the position right after a backslash inside a string: that character is escaped
    for found in _BRACKETS.finditer(body):
        char, at = found.group(), found.start()
        if in_string:
            if at == escaped_at:
                continue
            if char == b"\\":
                escaped_at = at + 1
            elif char == b'"':
                in_string = False
            continue
        if char == b'"':
            in_string = True
        elif char in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif char in (b"]", b"}"):
            depth = max(0, depth - 1)
    return False


def _nul_parameter(scope: Scope) -> str | None:
    """The name of the URL part holding a NUL character (path or a query parameter), or None."""
    if "\x00" in scope.get("path", "") or _NUL_IN_URL.search(scope.get("raw_path") or b""):
        return "the URL path"
    query: bytes = scope.get("query_string", b"")
    if not _NUL_IN_URL.search(query):
        return None
    for name, value in urllib.parse.parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return f"query parameter '{name.replace(chr(0), '')}'"
    return "the query string"


def _wants_html(scope: Scope) -> bool:
    if scope.get("path", "").startswith(("/api/", "/webhooks/")):
        return False
    accept = Headers(scope=scope).get("accept", "")
    return "text/html" in accept


async def _refuse(scope: Scope, send: Send, status: int, code: str, message: str) -> None:
    headers: list[tuple[bytes, bytes]] = [(b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]
    if _wants_html(scope):
        text = html.escape(message)
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Request refused</title></head>'
            f"<body><main><h1>That request could not be accepted</h1><p>{text}</p>"
            '<p><a href="/events">Back to Events</a></p></main></body></html>'
        ).encode()
        headers.append((b"content-type", b"text/html; charset=utf-8"))
    else:
        body = json.dumps(error_body(code, message)).encode()
        headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    """The ASGI middleware: size (413), depth (400) and NUL-in-URL (422) checks, then the app with the body
    replayed."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_json_depth: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_body_bytes} bytes; send less"

    async def _read(self, receive: Receive) -> tuple[bytes, Message | None]:
        """The whole body, and a disconnect message seen while reading (to pass on), or :class:`TooLarge`."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), message
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _nul_parameter(scope)
        if where is not None:
            message = f"{where} contains the NUL character (%00), which cannot be stored; remove it"
            await _refuse(scope, send, 422, "invalid_input", message)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await _refuse(scope, send, 413, "too_large", self._too_large())
            return
        try:
            body, pending = await self._read(receive)
        except TooLarge:
            await _refuse(scope, send, 413, "too_large", self._too_large())
            return
        content_type = headers.get("content-type", "").lower()
        if not content_type.startswith(_FORMS) and depth_exceeds(body, self.max_json_depth):
            message = f"the request body nests arrays or objects more than {self.max_json_depth} deep; flatten it"
            await _refuse(scope, send, 400, "too_deep", message)
            return
        await self.app(scope, _replay(body, pending, receive), send)


def _replay(body: bytes, pending: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the buffered body once, then whatever the server sends next."""
    state: dict[str, Any] = {"sent": False}

    async def replay() -> Message:
        if not state["sent"]:
            state["sent"] = True
            return {"type": "http.request", "body": body, "more_body": False}
        if pending is not None:
            return pending
        return await receive()

    return replay
