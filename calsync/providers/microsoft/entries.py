"""calsync's entries in an Outlook calendar through Microsoft Graph: written, found, read back (§3).

**How an entry is made, and how a person answers.** With the person's delegated token Graph makes the mailbox
owner the organizer of every event it creates (``organizer`` is read-only) and an organizer cannot accept or
decline their own event (§3.1). So calsync's Outlook entries are the person's own events, and the answer they
give is Outlook's **Show as**: ``busy`` / ``oof`` / ``workingElsewhere`` -> accepted (going), ``tentative`` ->
tentative (maybe), and ``free`` -> tentative too: a person who marks an event Free means "it need not block my
time, I may drop in", not "no" (issue 16). Outlook has no Show as value that means "not going"; a person declines
on the event's page (the entry's body says so and links it). calsync writes ``showAs`` from the RSVP: busy for
accepted, tentative for tentative. (docs/sync.md explains the choice and its limits.)

**Idempotency.** Every create carries ``transactionId`` (deterministic per key and generation, §3.2); Graph
refuses a reused one with ``ErrorDuplicateTransactionId`` (400), which here means "it exists": the entry is
looked up by its single-value extended property and adopted (§3.3). Extended properties are never in delta
results (§3.5), so entries are matched by their Graph id, which calsync stores.

**Removals are not always deletions.** calendarView delta reports an event that changed *outside* its window
(e.g. moved more than 400 days ahead) as ``@removed`` just like a deleted one (§3.5), so every removal is also
listed in :attr:`PullPage.unconfirmed` for the engine to confirm with :meth:`GraphEntries.get`. A deleted event
leaves ``/me/events`` entirely (404), so Graph cannot say whether a lost create was deleted by the person
(:meth:`GraphEntries.deleted_copy` is None).

**Batches.** ``create_many``/``delete_many`` send up to 20 requests per JSON ``$batch`` (§3.7,
``microsoft/batch.py``); each inner request is throttled on its own and read exactly as the single call's answer.

**Time zones.** Graph takes Windows zone names everywhere and only a listed set of IANA names (§3.4), so the
IANA zone is sent as its CLDR Windows name (``tzlocal.windows_tz``, §5) when one exists.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win, win_tz

from calsync.core.entry import EntryContent, conn_tag, transaction_id
from calsync.core.model import RsvpStatus
from calsync.core.plan import ListedEntry, Remote, RemoteState
from calsync.core.timezones import canonical
from calsync.errors import CalsyncError, ProviderAuthError, ProviderError, ProviderGone, ProviderPermanent
from calsync.providers import batching
from calsync.providers.base import PullPage, Written
from calsync.providers.microsoft import batch
from calsync.providers.microsoft.rest import GraphRest

log = logging.getLogger(__name__)

PROPERTY_SET = "{6d1f3c52-9b0e-4c6f-a1f4-3c2b7e5d9a10}"
"""calsync's property-set GUID. Never change it: entries written under it would be orphaned (peer lessons)."""
KEY_PROP = f"String {PROPERTY_SET} Name calsyncKey"
CONN_PROP = f"String {PROPERTY_SET} Name calsyncConn"
FINGERPRINT_PROP = f"String {PROPERTY_SET} Name calsyncFingerprint"
EXPAND_PROPS = f"singleValueExtendedProperties($filter=id eq '{KEY_PROP}' or id eq '{FINGERPRINT_PROP}')"
"""Extended properties are returned only when expanded (§3.3): the key, and the fingerprint calsync wrote."""

SHOW_AS = {RsvpStatus.ACCEPTED: "busy", RsvpStatus.TENTATIVE: "tentative"}
FROM_SHOW_AS = {
    "busy": RsvpStatus.ACCEPTED,
    "oof": RsvpStatus.ACCEPTED,
    "workingElsewhere": RsvpStatus.ACCEPTED,
    "tentative": RsvpStatus.TENTATIVE,
    "free": RsvpStatus.TENTATIVE,  # "I may drop in", not "no": see the module docstring
}
HOW_TO_ANSWER = (
    "Your answer in Outlook: Show as Busy = going, Tentative or Free = maybe. "
    "Not going? Decline on the event page: {link}"
)
"""Said in every entry's body, because Show as is the only answer control on an event one organizes (§3.1)."""
DELTA_WINDOW_BACK = dt.timedelta(days=1)
DELTA_WINDOW_AHEAD = dt.timedelta(days=400)


def _rules(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@functools.cache
def _windows_zones() -> tuple[tuple[str, ZoneInfo], ...]:
    """Every Windows zone with the IANA zone CLDR gives it for the world (territory 001), by name."""
    found = ((name, _rules(iana)) for name, iana in sorted(win_tz.items()))
    return tuple((name, rules) for name, rules in found if rules is not None)


def _agrees(rules: ZoneInfo, zone: ZoneInfo, walls: list[dt.datetime]) -> bool:
    """Whether ``rules`` puts each wall-clock time at the same instant as ``zone`` does."""
    return all(w.replace(tzinfo=rules).astimezone(dt.UTC) == w.replace(tzinfo=zone).astimezone(dt.UTC) for w in walls)


def graph_zone(iana: str, *walls: str) -> str:
    """The Windows zone name to send Graph for an IANA zone and the wall-clock times sent with it.

    CLDR's Windows name (looked up by the name, or for an alias CLDR does not list, such as ``GMT`` or
    ``Europe/Uzhgorod``, by the zone it names), when that Windows zone puts ``walls`` at the same instants as the
    IANA zone. CLDR lags a few zones whose rules changed (``America/Scoresbysund`` moved from the Azores' offsets
    to Nuuk's in 2024, yet maps to "Azores Standard Time": an hour off): then the first Windows zone that agrees
    on the whole year, else on these times. ``tests/providers/test_every_zone.py`` writes every accepted zone.
    """
    cldr = tz_win.get(iana) or tz_win.get(canonical(iana))
    zone = _rules(iana)
    if not walls or zone is None:
        return cldr or iana
    times = [dt.datetime.fromisoformat(w) for w in walls]
    cldr_rules = _rules(win_tz[cldr]) if cldr in win_tz else None
    if cldr_rules is not None and _agrees(cldr_rules, zone, times):
        return cldr or iana
    year = [dt.datetime(times[0].year, month, day, 12) for month in range(1, 13) for day in (1, 15)]
    agreeing = [name for name, rules in _windows_zones() if _agrees(rules, zone, times)]
    whole_year = [name for name, rules in _windows_zones() if name in agreeing and _agrees(rules, zone, year)]
    return (whole_year or agreeing or [cldr or iana])[0]


def _when(value: str, content: EntryContent) -> dict[str, str]:
    if content.all_day:  # Graph all-day: midnight to midnight, end exclusive (§3.4)
        start, end = f"{content.start}T00:00:00", f"{content.end}T00:00:00"
        return {"dateTime": f"{value}T00:00:00", "timeZone": graph_zone(content.timezone, start, end)}
    return {"dateTime": value, "timeZone": graph_zone(content.timezone, content.start, content.end)}


def entry_body(content: EntryContent) -> dict[str, Any]:
    """The event resource calsync creates or patches for ``content`` (no transactionId: create adds it)."""
    organizer = f"Organized by {content.organizer_name} <{content.organizer_email}>"
    how = HOW_TO_ANSWER.format(link=content.link)
    return {
        "subject": content.title,
        "body": {"contentType": "text", "content": f"{content.description}\n\n{organizer}\n\n{how}"},
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


DUPLICATE_TRANSACTION = "ErrorDuplicateTransactionId"


class GraphEntries:
    """Writes, look-ups, listings and delta pulls of calsync's entries in one mailbox's calendars."""

    BATCH_LIMIT: ClassVar[int] = batch.MAX_REQUESTS
    """Requests per ``$batch``: Graph's cap of 20 (§3.7). Each inner request counts against the mailbox's
    10,000 per 10 minutes like a single call."""

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
            if exc.code != DUPLICATE_TRANSACTION:
                raise
            found = self.lookup(token, calendar_id, content.key)
            if not found:
                raise
            return Written(found[0].provider_id, found[0].etag)
        return Written(str(item["id"]), item.get("@odata.etag"))

    def create_many(
        self, token: str, calendar_id: str, items: Sequence[tuple[EntryContent, int]]
    ) -> list[Written | CalsyncError]:
        """:meth:`create` for each item through ``$batch``, :attr:`BATCH_LIMIT` per request (§3.7). A request
        answered ``ErrorDuplicateTransactionId`` adopts the entry found by key, exactly like :meth:`create`; other
        per-request failures are that item's result (``providers/batching.py``)."""
        results: list[Written | CalsyncError] = []
        for chunk in batching.chunks(items, self.BATCH_LIMIT):
            requests = [
                batch.request(
                    "POST",
                    self._events(calendar_id),
                    {**entry_body(content), "transactionId": transaction_id(content.key, generation)},
                )
                for content, generation in chunk
            ]
            answers = batching.outcomes(batch.send(self.rest, token, requests), self.rest)
            for (content, _), outcome in zip(chunk, answers, strict=True):
                results.append(self._created(token, calendar_id, content.key, outcome))
        return results

    def _created(self, token: str, calendar_id: str, key: str, outcome: Any) -> Written | CalsyncError:
        if isinstance(outcome, ProviderPermanent) and outcome.code == DUPLICATE_TRANSACTION:
            try:  # the transactionId is taken: adopt ours, as create does
                found = self.lookup(token, calendar_id, key)
            except ProviderAuthError:
                raise
            except ProviderError as exc:
                return exc
            return Written(found[0].provider_id, found[0].etag) if found else outcome
        return batching.written(outcome, self.rest, "@odata.etag")

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

    def delete_many(self, token: str, calendar_id: str, provider_ids: Sequence[str]) -> list[bool | CalsyncError]:
        """:meth:`delete` for each id through ``$batch`` (§3.7); already gone (404) is False."""
        del calendar_id
        results: list[bool | CalsyncError] = []
        for chunk in batching.chunks(provider_ids, self.BATCH_LIMIT):
            requests = [batch.request("DELETE", f"/me/events/{quote(pid, safe='')}") for pid in chunk]
            answers = batching.outcomes(batch.send(self.rest, token, requests), self.rest)
            results.extend(batching.deleted(outcome) for outcome in answers)
        return results

    def get(self, token: str, calendar_id: str, provider_id: str) -> Remote:
        """``GET /me/events/{id}``: a deleted event is gone from the mailbox (404) and a cancelled one carries
        ``isCancelled`` (§3.1, §3.2), both ABSENT; otherwise PRESENT with ``@odata.etag`` and Show as."""
        del calendar_id  # Graph ids are mailbox-wide
        try:
            item = self.rest.call_json(
                "GET", f"/me/events/{quote(provider_id, safe='')}", token, params={"$expand": EXPAND_PROPS}
            )
        except ProviderGone:
            return Remote(RemoteState.ABSENT, provider_id)
        if item.get("isCancelled"):
            return Remote(RemoteState.ABSENT, provider_id)
        pid, written = str(item.get("id", provider_id)), _prop(item, FINGERPRINT_PROP)
        return Remote(RemoteState.PRESENT, pid, item.get("@odata.etag"), answer_of(item), written)

    def deleted_copy(self, token: str, calendar_id: str, key: str, generation: int) -> str | None:
        """Always None: Graph cannot tell. A deleted event leaves ``/me/events`` (404, no tombstone to list), and
        whether Graph still holds a deleted event's ``transactionId`` (so that a retried create would be refused
        rather than make a new event) is UNCONFIRMED (§3.2; the sandbox lets the create through)."""
        del token, calendar_id, key, generation
        return None

    def _filtered(self, token: str, calendar_id: str, prop: str, value: str) -> list[ListedEntry]:
        out: list[ListedEntry] = []
        escaped = value.replace("'", "''")
        params: dict[str, Any] | None = {
            "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{prop}' and ep/value eq '{escaped}')",
            "$expand": EXPAND_PROPS,
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
                    written = _prop(item, FINGERPRINT_PROP)
                    out.append(ListedEntry(key, str(item["id"]), item.get("@odata.etag"), answer_of(item), written))
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
        the window: each is reported ABSENT in ``changes`` and its id in ``unconfirmed`` (a removal is not
        necessarily a deletion; confirm with :meth:`get`)."""
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
        removed: set[str] = set()
        while url:
            body = self.rest.call_json("GET", url, token, params=params, headers=headers)
            params = None
            for item in body.get("value", []):
                pid = str(item.get("id"))
                if "@removed" in item:
                    changes.append((pid, Remote(RemoteState.ABSENT, pid)))
                    removed.add(pid)
                    continue
                removed.discard(pid)  # replays (§3.5): only an id whose last report is a removal is unconfirmed
                if item.get("isCancelled"):
                    changes.append((pid, Remote(RemoteState.ABSENT, pid)))
                else:
                    changes.append((pid, Remote(RemoteState.PRESENT, pid, item.get("@odata.etag"), answer_of(item))))
            if "@odata.deltaLink" in body:
                return PullPage(changes, str(body["@odata.deltaLink"]), frozenset(removed))
            url = body.get("@odata.nextLink")
        raise ProviderPermanent("Graph delta ended without a deltaLink", provider="microsoft")
