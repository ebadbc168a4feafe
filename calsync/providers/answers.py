"""Provider answers as dicts that fail clearly when a field the adapter needs is missing.

A provider answer that lacks a field calsync relies on (an event without ``id``, a channel without
``expiration``) must become a clear, permanent provider error for that operation, recorded and not retried in a
loop, never a ``KeyError`` from deep inside an adapter (issue 7, "provider answers with missing or unexpected
fields"). Answers are parsed with a JSON object hook, so nested objects (list items) behave the same.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from calsync.errors import ProviderUnreadable


def parse(response: httpx.Response, provider: str) -> Any:
    """The JSON body of ``response`` with every object an answer dict; a non-JSON body is refused."""
    label = "Google" if provider == "google" else "Microsoft"

    def unreadable(what: str) -> ProviderUnreadable:
        return ProviderUnreadable(
            f"{label} sent an answer calsync cannot read ({what}); nothing was changed. Try again later.",
            provider=provider,
            status=response.status_code,
            code="unreadable_answer",
        )

    class Answer(dict[str, Any]):
        def __missing__(self, key: str) -> Any:
            raise unreadable(f"a field it needs, {key!r}, is missing")

    try:
        return json.loads(response.content or b"null", object_hook=Answer)
    except ValueError:
        raise unreadable(f"not JSON, HTTP {response.status_code}") from None
