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

from calsync.errors import ProviderPermanent


def parse(response: httpx.Response, provider: str) -> Any:
    """The JSON body of ``response`` with every object an :class:`Answer`; a non-JSON body is refused."""
    label = "Google" if provider == "google" else "Microsoft"

    class Answer(dict[str, Any]):
        def __missing__(self, key: str) -> Any:
            raise ProviderPermanent(
                f"{label} answered without the field {key!r} calsync needs",
                provider=provider,
                status=response.status_code,
                code="incomplete_answer",
            )

    try:
        return json.loads(response.content or b"null", object_hook=Answer)
    except ValueError:
        raise ProviderPermanent(
            f"{label} answered with something that is not JSON (HTTP {response.status_code})",
            provider=provider,
            status=response.status_code,
            code="malformed_answer",
        ) from None
