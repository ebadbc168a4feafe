"""What both adapters' batched writes share: chunking, and reading one part's answer like a single call's.

A batch is a transport detail (provider-facts §1.7, §3.7): every part is read exactly as the single call's answer
would be, through the provider's own ``map_error`` and the answers parser, so ``create_many``/``delete_many`` keep
the single calls' semantics item by item. Two rules differ from "return every per-item failure":

- a part refused for the *token* (401, missing scope: :class:`~calsync.errors.ProviderAuthError`) fails the whole
  batch, because every part carried the same token: raising lets the engine's call wrapper refresh it once and
  send the batch again, as it does for a single call. Sending again is safe: creates are keyed (an iCalUID or a
  transactionId) and adopt what already landed, and a delete of what is gone is done (it then reads False);
- everything else (429, 5xx, 404, 409, 412, unreadable bodies) is that item's result, so the caller can retry
  just those items singly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import httpx

from calsync.errors import CalsyncError, ProviderAuthError, ProviderError, ProviderGone, ProviderUnreadable
from calsync.providers.answers import parse
from calsync.providers.base import Written
from calsync.providers.rest import Rest

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size`` (one batch request each)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def outcomes(answers: Sequence[httpx.Response], rest: Rest) -> list[Any | ProviderError]:
    """Each part's parsed body (None when empty) or its mapped error; raises the first token refusal."""
    out: list[Any | ProviderError] = []
    for answer in answers:
        if answer.status_code >= 400:
            out.append(rest.map_error(answer))
        elif not answer.content:
            out.append(None)
        else:
            try:
                out.append(parse(answer, rest.provider))
            except ProviderError as exc:  # ProviderUnreadable: this item's answer only
                out.append(exc)
    refused = next((o for o in out if isinstance(o, ProviderAuthError)), None)
    if refused is not None:
        raise refused
    return out


def written(outcome: Any, rest: Rest, etag_field: str) -> Written | CalsyncError:
    """A create part's outcome as :class:`Written`, or its error; a body without ``id`` is unreadable."""
    if isinstance(outcome, CalsyncError):
        return outcome
    if not isinstance(outcome, dict) or "id" not in outcome:
        return ProviderUnreadable(
            f"{rest.label} answered a create without the entry's id; nothing can be recorded. Try again later.",
            provider=rest.provider,
            code="unreadable_answer",
        )
    return Written(str(outcome["id"]), outcome.get(etag_field))


def deleted(outcome: Any) -> bool | CalsyncError:
    """A delete part's outcome: True when it was there, False when already gone (404, 410), or its error."""
    if isinstance(outcome, ProviderGone):
        return False
    if isinstance(outcome, CalsyncError):
        return outcome
    return True
