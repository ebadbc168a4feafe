"""calsync's entries in a Google calendar: how they are written, found, and read back (provider-facts §1).

**How an entry is made.** ``events.import`` places a private copy in the person's target calendar whose
organizer is the event's organizer and whose attendee is the person, with their answer as ``responseStatus``.
That is the documented way (§1.1, ``organizer`` writable only on import) to give the person Google's own RSVP
controls (Yes / Maybe / No) on an entry that calsync wrote with their token; an ``insert`` would make them the
organizer, with no RSVP controls. Import cannot take a client-chosen ``id`` (§1.2: supply only one of ``id`` and
``iCalUID``), so idempotency rests on a deterministic iCalUID (``calsync.core.entry.ical_uid``) plus private
extended properties carrying calsync's key; before any re-create after a lost answer the engine looks the entry
up by that key (§1.3 warns collisions are not always detected at create time).

**What is read back.** The person's answer is the ``responseStatus`` of the attendee with ``self: true``, and
only that: ``self`` marks "the calendar on which this copy of the event appears" (§1.2). In a secondary calendar
no attendee is ``self`` and Google offers the person no answer there, so none is read (the attendee carrying their
email holds only what calsync itself last wrote). A ``cancelled`` status in an incremental listing, or from
``events.get`` (which returns deleted events too, §1.1), means they deleted it (§1.2, §1.4).

**Batches.** :meth:`GoogleEntries.create_many` and :meth:`GoogleEntries.delete_many` send up to
:attr:`GoogleEntries.BATCH_LIMIT` calls per batch request (§1.7, ``google/batch.py``); each call still counts
against quota, and each part's answer is read exactly as the single call's.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import httpx

from calsync.core.entry import KEY_PROPERTY, EntryContent, conn_tag, ical_uid
from calsync.core.model import RsvpStatus
from calsync.core.plan import ListedEntry, Remote, RemoteState
from calsync.errors import CalsyncError, ProviderAuthError, ProviderConflict, ProviderError, ProviderGone
from calsync.providers import batching
from calsync.providers.base import PullPage, Written
from calsync.providers.google import batch
from calsync.providers.google.rest import GoogleRest

CONN_PROPERTY = "calsyncConn"
"""Private property ``<installation>.<connection>``: lists every entry of one connection with one filter."""
FINGERPRINT_PROPERTY = "calsyncFingerprint"

TO_GOOGLE = {
    RsvpStatus.ACCEPTED: "accepted",
    RsvpStatus.TENTATIVE: "tentative",
    RsvpStatus.DECLINED: "declined",
    RsvpStatus.NEEDS_ACTION: "needsAction",
}
FROM_GOOGLE = {v: k for k, v in TO_GOOGLE.items()}
log = logging.getLogger(__name__)


def _when(value: str, all_day: bool, zone: str) -> dict[str, str]:
    return {"date": value} if all_day else {"dateTime": value, "timeZone": zone}


def entry_body(content: EntryContent, generation: int) -> dict[str, Any]:
    """The Event resource calsync imports or patches for ``content``."""
    return {
        "iCalUID": ical_uid(content.key, generation),
        "summary": content.title,
        "description": content.description,
        "location": content.location,
        "start": _when(content.start, content.all_day, content.timezone),
        "end": _when(content.end, content.all_day, content.timezone),
        "organizer": {"email": content.organizer_email, "displayName": content.organizer_name},
        "attendees": [{"email": content.attendee_email, "responseStatus": TO_GOOGLE[content.response]}],
        "source": {"title": "Event page", "url": content.link},
        "status": "confirmed",
        "transparency": "opaque",
        "extendedProperties": {
            "private": {
                KEY_PROPERTY: content.key,
                CONN_PROPERTY: conn_tag(content.key),
                FINGERPRINT_PROPERTY: content.fingerprint(),
            }
        },
    }


def answer_of(item: dict[str, Any]) -> RsvpStatus | None:
    """The person's answer on this copy: the attendee marked ``self`` (§1.2), else None.

    Never the attendee found by the account's email: in a secondary calendar no attendee is ``self`` (the calendar
    is not the person), Google shows no RSVP controls there, and that attendee's status is calsync's own last
    write, which read back as the person's answer would overwrite a newer one on the platform."""
    mine = next((a for a in item.get("attendees") or [] if a.get("self")), None)
    return FROM_GOOGLE.get(str(mine.get("responseStatus"))) if mine else None


def written_of(item: dict[str, Any]) -> str | None:
    """The fingerprint calsync stored on the entry when it wrote it (private extended property)."""
    value = ((item.get("extendedProperties") or {}).get("private") or {}).get(FINGERPRINT_PROPERTY)
    return str(value) if value else None


def key_of(item: dict[str, Any]) -> str | None:
    value = ((item.get("extendedProperties") or {}).get("private") or {}).get(KEY_PROPERTY)
    return str(value) if value else None


class GoogleEntries:
    """Writes, look-ups, listings and incremental pulls of calsync's entries in one account's calendars."""

    BATCH_LIMIT: ClassVar[int] = 50
    """Calls per batch request. Google allows 1000 (§1.7); 50 keeps one request's work (and a lost answer's
    uncertainty) small, and each call counts against quota anyway."""

    def __init__(self, rest: GoogleRest) -> None:
        self.rest = rest

    @staticmethod
    def _cal(calendar_id: str) -> str:
        return httpx.URL("/" + calendar_id).raw_path.decode()[1:]  # percent-encode ids like a@group.calendar...

    def create(self, token: str, calendar_id: str, content: EntryContent, generation: int) -> Written:
        """events.import. A 409 (the id is taken) means a copy exists: it is looked up and adopted."""
        try:
            item = self.rest.call_json(
                "POST", f"calendars/{self._cal(calendar_id)}/events/import", token, json=entry_body(content, generation)
            )
        except ProviderConflict:
            found = self.lookup(token, calendar_id, content.key)
            if not found:
                raise
            return Written(found[0].provider_id, found[0].etag)
        return Written(str(item["id"]), item.get("etag"))

    def create_many(
        self, token: str, calendar_id: str, items: Sequence[tuple[EntryContent, int]]
    ) -> list[Written | CalsyncError]:
        """:meth:`create` for each item through the batch endpoint, :attr:`BATCH_LIMIT` calls per request
        (§1.7). A part answered 409 adopts the entry found by key, exactly like :meth:`create`; other per-part
        failures are that item's result (``providers/batching.py``)."""
        path = f"calendars/{self._cal(calendar_id)}/events/import"
        results: list[Written | CalsyncError] = []
        for chunk in batching.chunks(items, self.BATCH_LIMIT):
            calls = [batch.BatchCall("POST", path, entry_body(content, generation)) for content, generation in chunk]
            answers = batching.outcomes(batch.send(self.rest, token, calls), self.rest)
            for (content, _), outcome in zip(chunk, answers, strict=True):
                results.append(self._created(token, calendar_id, content.key, outcome))
        return results

    def _created(self, token: str, calendar_id: str, key: str, outcome: Any) -> Written | CalsyncError:
        if isinstance(outcome, ProviderConflict):  # the iCalUID is taken: adopt ours, as create does
            try:
                found = self.lookup(token, calendar_id, key)
            except ProviderAuthError:
                raise
            except ProviderError as exc:
                return exc
            return Written(found[0].provider_id, found[0].etag) if found else outcome
        return batching.written(outcome, self.rest, "etag")

    def update(
        self, token: str, calendar_id: str, provider_id: str, content: EntryContent, generation: int, etag: str | None
    ) -> Written:
        """events.patch conditional on the etag (412 -> ProviderConflict: re-read and re-plan)."""
        body = entry_body(content, generation)
        body.pop("iCalUID")
        body.pop("organizer")  # read-only except on import (§1.2)
        headers = {"If-Match": etag} if etag else None
        item = self.rest.call_json(
            "PATCH", f"calendars/{self._cal(calendar_id)}/events/{provider_id}", token, json=body, headers=headers
        )
        return Written(str(item["id"]), item.get("etag"))

    def delete(self, token: str, calendar_id: str, provider_id: str) -> bool:
        """events.delete; already gone (404, 410 ``deleted``) counts as done (peer lesson 14)."""
        try:
            self.rest.call("DELETE", f"calendars/{self._cal(calendar_id)}/events/{provider_id}", token)
        except ProviderGone:
            return False
        return True

    def delete_many(self, token: str, calendar_id: str, provider_ids: Sequence[str]) -> list[bool | CalsyncError]:
        """:meth:`delete` for each id through the batch endpoint (§1.7); already gone (404, 410) is False."""
        results: list[bool | CalsyncError] = []
        for chunk in batching.chunks(provider_ids, self.BATCH_LIMIT):
            calls = [batch.BatchCall("DELETE", f"calendars/{self._cal(calendar_id)}/events/{pid}") for pid in chunk]
            answers = batching.outcomes(batch.send(self.rest, token, calls), self.rest)
            results.extend(batching.deleted(outcome) for outcome in answers)
        return results

    def get(self, token: str, calendar_id: str, provider_id: str) -> Remote:
        """events.get, which returns deleted events too, as ``status: cancelled`` (§1.1, §1.2): that, a 404 or a
        410 is ABSENT; otherwise PRESENT with the etag and the ``self`` attendee's answer."""
        try:
            item = self.rest.call_json("GET", f"calendars/{self._cal(calendar_id)}/events/{provider_id}", token)
        except ProviderGone:
            return Remote(RemoteState.ABSENT, provider_id)
        if item.get("status") == "cancelled":
            return Remote(RemoteState.ABSENT, provider_id)
        pid = str(item.get("id", provider_id))
        return Remote(RemoteState.PRESENT, pid, item.get("etag"), answer_of(item), written_of(item))

    def deleted_copy(self, token: str, calendar_id: str, key: str, generation: int) -> str | None:
        """The id of a deleted copy imported under this key and generation, when no live copy has that iCalUID.

        ``events.list?iCalUID=…&showDeleted=true`` lists cancelled events too (§1.2, §1.4); a deleted event is only
        guaranteed to carry its id, so the iCalUID filter decides, not the private key property. Used after a
        create whose answer was lost: if the person deleted the entry before calsync looked, creating it again
        would undo their deletion (an import of the same iCalUID revives the copy, §1.3)."""
        params = {"iCalUID": ical_uid(key, generation), "showDeleted": "true", "maxResults": "50"}
        items = list(self._list(token, calendar_id, params))
        if any(item.get("status") != "cancelled" for item in items):
            return None
        return next((str(item["id"]) for item in items if "id" in item), None)

    def _list(self, token: str, calendar_id: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        page: str | None = None
        while True:
            query = {**params, **({"pageToken": page} if page else {})}
            body = self.rest.call_json("GET", f"calendars/{self._cal(calendar_id)}/events", token, params=query)
            yield from body.get("items", [])
            page = body.get("nextPageToken")
            if not page:
                return

    def _listed(self, item: dict[str, Any]) -> ListedEntry | None:
        key = key_of(item)
        if key is None or item.get("status") == "cancelled":
            return None
        if "id" not in item:
            log.warning("skipped a Google event carrying calsync's key %s but no id", key)
            return None
        return ListedEntry(key, str(item["id"]), item.get("etag"), answer_of(item), written_of(item))

    def lookup(self, token: str, calendar_id: str, key: str) -> list[ListedEntry]:
        """Live entries carrying ``key`` (a lost create, a 409): private-property filter (§1.2)."""
        params = {"privateExtendedProperty": f"{KEY_PROPERTY}={key}", "maxResults": "50"}
        return [e for item in self._list(token, calendar_id, params) if (e := self._listed(item))]

    def list_connection(self, token: str, calendar_id: str, tag: str) -> list[ListedEntry]:
        """Every live entry of one connection in ``calendar_id`` (full reconcile), all pages."""
        params = {"privateExtendedProperty": f"{CONN_PROPERTY}={tag}", "maxResults": "2500"}
        return [e for item in self._list(token, calendar_id, params) if (e := self._listed(item))]

    def pull(self, token: str, calendar_id: str, cursor: str | None, now: dt.datetime) -> PullPage:
        """Incremental changes with ``syncToken`` (410 -> ProviderSyncReset); without a cursor a full listing
        from a day back, which ends in the first ``nextSyncToken`` (§1.4: the token only on the last page)."""
        params: dict[str, str] = {"maxResults": "2500"}
        if cursor:
            params["syncToken"] = cursor
        else:
            params["timeMin"] = (now - dt.timedelta(days=1)).isoformat()
        changes: list[tuple[str, Remote]] = []
        page: str | None = None
        while True:
            query = {**params, **({"pageToken": page} if page else {})}
            body = self.rest.call_json("GET", f"calendars/{self._cal(calendar_id)}/events", token, params=query)
            for item in body.get("items", []):
                pid = str(item.get("id"))
                if item.get("status") == "cancelled":
                    changes.append((pid, Remote(RemoteState.ABSENT, pid)))
                elif key_of(item) is not None:
                    changes.append((pid, Remote(RemoteState.PRESENT, pid, item.get("etag"), answer_of(item))))
            page = body.get("nextPageToken")
            if not page:
                return PullPage(changes, body.get("nextSyncToken"))
