"""calsync's entries in an Outlook calendar through Microsoft Graph: written, found, read back (§3).

**How an entry is made, and how a person answers.** With the person's delegated token Graph makes the mailbox
owner the organizer of every event it creates (``organizer`` is read-only) and an organizer cannot accept or
decline their own event (§3.1). So calsync's Outlook entries are the person's own events, and the answer they
give is Outlook's **Show as**: ``tentative`` -> tentative, ``free`` -> declined (they will not be busy then),
``busy`` / ``oof`` / ``workingElsewhere`` -> accepted. calsync writes ``showAs`` from the RSVP the same way.
(docs/sync.md explains the choice and its limits.)

**Idempotency.** Every create carries ``transactionId`` (deterministic per key and generation, §3.2); Graph
refuses a reused one with ``ErrorDuplicateTransactionId`` (400), which here means "it exists": the entry is
looked up by its single-value extended property and adopted (§3.3). Extended properties are never in delta
results (§3.5), so entries are matched by their Graph id, which calsync stores.

**Time zones.** Graph takes Windows zone names everywhere and only a listed set of IANA names (§3.4), so the
IANA zone is sent as its CLDR Windows name (``tzlocal.windows_tz``, §5) when one exists.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import quote

from tzlocal.windows_tz import tz_win

from calsync.core.entry import EntryContent, conn_tag, transaction_id
from calsync.core.model import RsvpStatus
from calsync.core.plan import ListedEntry, Remote, RemoteState
from calsync.errors import ProviderGone, ProviderPermanent
from calsync.providers.base import PullPage, Written
from calsync.providers.microsoft.rest import GraphRest

log = logging.getLogger(__name__)

PROPERTY_SET = "{6d1f3c52-9b0e-4c6f-a1f4-3c2b7e5d9a10}"
"""calsync's property-set GUID. Never change it: entries written under it would be orphaned (peer lessons)."""
KEY_PROP = f"String {PROPERTY_SET} Name calsyncKey"
CONN_PROP = f"String {PROPERTY_SET} Name calsyncConn"
FINGERPRINT_PROP = f"String {PROPERTY_SET} Name calsyncFingerprint"

SHOW_AS = {RsvpStatus.ACCEPTED: "busy", RsvpStatus.TENTATIVE: "tentative"}
FROM_SHOW_AS = {
    "busy": RsvpStatus.ACCEPTED,
    "oof": RsvpStatus.ACCEPTED,
    "workingElsewhere": RsvpStatus.ACCEPTED,
    "tentative": RsvpStatus.TENTATIVE,
    "free": RsvpStatus.DECLINED,
}
DELTA_WINDOW_BACK = dt.timedelta(days=1)
DELTA_WINDOW_AHEAD = dt.timedelta(days=400)


def graph_zone(iana: str) -> str:
    """The zone name Graph accepts for an IANA zone: its Windows name when CLDR has one."""
    return tz_win.get(iana) or iana


def _when(value: str, content: EntryContent) -> dict[str, str]:
    if content.all_day:  # Graph all-day: midnight to midnight, end exclusive (§3.4)
        return {"dateTime": f"{value}T00:00:00", "timeZone": graph_zone(content.timezone)}
    return {"dateTime": value, "timeZone": graph_zone(content.timezone)}


def entry_body(content: EntryContent) -> dict[str, Any]:
    """The event resource calsync creates or patches for ``content`` (no transactionId: create adds it)."""
    organizer = f"Organized by {content.organizer_name} <{content.organizer_email}>"
    return {
        "subject": content.title,
        "body": {"contentType": "text", "content": f"{content.description}\n\n{organizer}"},
        "start": _when(content.start, content),
        "end": _when(content.end, content),
        "isAllDay": content.all_day,
        "location": {"displayName": content.location},
        "showAs": SHOW_AS[content.response],
        "singleValueExtendedProperties": [
            {"id": KEY_PROP, "value": content.key},
            {"id": CONN_PROP, "value": conn_tag(content.key)},
            {"id": FINGERPRINT_PROP, "value": content.fingerprint()},
        ],
    }


def answer_of(item: dict[str, Any]) -> RsvpStatus | None:
    return FROM_SHOW_AS.get(str(item.get("showAs")))


def _prop(item: dict[str, Any], prop_id: str) -> str | None:
    for p in item.get("singleValueExtendedProperties") or []:
        if str(p.get("id", "")).lower() == prop_id.lower():
            return str(p.get("value"))
    return None


class GraphEntries:
    """Writes, look-ups, listings and delta pulls of calsync's entries in one mailbox's calendars."""

    def __init__(self, rest: GraphRest, default_calendar_id: str | None = None) -> None:
        self.rest = rest
        self.default_calendar_id = default_calendar_id

    @staticmethod
    def _events(calendar_id: str) -> str:
        return f"/me/calendars/{quote(calendar_id, safe='')}/events"

    def create(self, token: str, calendar_id: str, content: EntryContent, generation: int) -> Written:
        body = {**entry_body(content), "transactionId": transaction_id(content.key, generation)}
        try:
            item = self.rest.call_json("POST", self._events(calendar_id), token, json=body)
        except ProviderPermanent as exc:
            if exc.code != "ErrorDuplicateTransactionId":
                raise
            found = self.lookup(token, calendar_id, content.key)
            if not found:
                raise
            return Written(found[0].provider_id, found[0].etag)
        return Written(str(item["id"]), item.get("@odata.etag"))

    def update(
        self, token: str, calendar_id: str, provider_id: str, content: EntryContent, generation: int, etag: str | None
    ) -> Written:
        """PATCH conditional on ``@odata.etag`` (412 -> ProviderConflict)."""
        del calendar_id, generation  # Graph ids are mailbox-wide; the transactionId is create-only
        headers = {"If-Match": etag} if etag else None
        item = self.rest.call_json(
            "PATCH", f"/me/events/{quote(provider_id, safe='')}", token, json=entry_body(content), headers=headers
        )
        return Written(str(item["id"]), item.get("@odata.etag"))

    def delete(self, token: str, calendar_id: str, provider_id: str) -> bool:
        del calendar_id
        try:
            self.rest.call("DELETE", f"/me/events/{quote(provider_id, safe='')}", token)
        except ProviderGone:
            return False
        return True

    def _filtered(self, token: str, calendar_id: str, prop: str, value: str) -> list[ListedEntry]:
        out: list[ListedEntry] = []
        escaped = value.replace("'", "''")
        params: dict[str, Any] | None = {
            "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{prop}' and ep/value eq '{escaped}')",
            "$expand": f"singleValueExtendedProperties($filter=id eq '{KEY_PROP}')",
            "$top": "500",
        }
        url: str | None = self._events(calendar_id)
        while url:
            body = self.rest.call_json("GET", url, token, params=params)
            for item in body.get("value", []):
                key = _prop(item, KEY_PROP)
                if key and "id" not in item:
                    log.warning("skipped an Outlook event carrying calsync's key %s but no id", key)
                elif key and not item.get("isCancelled"):
                    out.append(ListedEntry(key, str(item["id"]), item.get("@odata.etag"), answer_of(item)))
            url, params = body.get("@odata.nextLink"), None  # nextLink is replayed verbatim
        return out

    def lookup(self, token: str, calendar_id: str, key: str) -> list[ListedEntry]:
        """Live entries carrying ``key`` ($filter on the single-value extended property, §3.3)."""
        return self._filtered(token, calendar_id, KEY_PROP, key)

    def list_connection(self, token: str, calendar_id: str, tag: str) -> list[ListedEntry]:
        """Every live entry of one connection in ``calendar_id`` (full reconcile)."""
        return self._filtered(token, calendar_id, CONN_PROP, tag)

    def pull(self, token: str, calendar_id: str, cursor: str | None, now: dt.datetime) -> PullPage:
        """calendarView/delta from the cursor (a deltaLink, replayed verbatim) or from a fresh window; 410 and
        ``syncStateNotFound`` surface as ProviderSyncReset (§3.5). Removals may be replayed and may lie outside
        the window; the engine matches by id, so both are harmless."""
        headers = {"Prefer": "odata.maxpagesize=200"}
        params: dict[str, Any] | None = None
        if cursor:
            url: str | None = cursor
        else:
            base = "/me" if calendar_id == self.default_calendar_id else f"/me/calendars/{quote(calendar_id, safe='')}"
            url = f"{base}/calendarView/delta"
            params = {
                "startDateTime": (now - DELTA_WINDOW_BACK).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "endDateTime": (now + DELTA_WINDOW_AHEAD).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        changes: list[tuple[str, Remote]] = []
        while url:
            body = self.rest.call_json("GET", url, token, params=params, headers=headers)
            params = None
            for item in body.get("value", []):
                pid = str(item.get("id"))
                if "@removed" in item or item.get("isCancelled"):
                    changes.append((pid, Remote(RemoteState.ABSENT, pid)))
                else:
                    changes.append((pid, Remote(RemoteState.PRESENT, pid, item.get("@odata.etag"), answer_of(item))))
            if "@odata.deltaLink" in body:
                return PullPage(changes, str(body["@odata.deltaLink"]))
            url = body.get("@odata.nextLink")
        raise ProviderPermanent("Graph delta ended without a deltaLink", provider="microsoft")
