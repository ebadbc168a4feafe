"""events.list: filters, paging and incremental sync (provider-facts §1.4).

Each calendar keeps its events in change order (see :class:`~calsync.sandbox.google.state.Calendar`), and every
change carries the calendar's next version number. So:

- a **sync token** is (sandbox instance, token epoch, calendar, version): the next incremental list returns the
  events whose version is above it, deleted ones included. A token from another calendar, from before
  :meth:`expire_sync_tokens`, from before a reset, or unparseable is 410 ``fullSyncRequired`` (§1.4 body).
- a **page token** is a keyset cursor (the last key returned) plus the version at which the listing started.
  Events changed while a client pages move past the cursor, so no event is skipped; the final page's
  ``nextSyncToken`` is the starting version, so anything changed during paging is seen again next time.
- ``nextPageToken`` and ``nextSyncToken`` are never both present; the sync token comes only on the last page.

Recurring events are stored and returned as written: ``singleEvents=true`` is accepted (and required by
``orderBy=startTime``) but instances are not expanded.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from typing import Any

from starlette.datastructures import QueryParams

from calsync.sandbox.google.errors import bad_request, full_sync_required, time_range_empty
from calsync.sandbox.google.events import Events
from calsync.sandbox.google.state import Calendar, GoogleState, StoredEvent
from calsync.sandbox.google.times import parse_instant, rfc3339

DEFAULT_PAGE = 250
MAX_PAGE = 2500
NOT_WITH_SYNC_TOKEN = (
    "iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty", "timeMin", "timeMax",
    "updatedMin",
)


def _encode(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(token: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def _flag(params: QueryParams, name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise bad_request(f"Invalid boolean value for {name}: {value!r}.", location=name)
    return value.lower() == "true"


def _property_filters(params: QueryParams, name: str) -> list[tuple[str, str]]:
    out = []
    for item in params.getlist(name):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise bad_request(f"Invalid {name} value {item!r}: use propertyName=value.", location=name)
        out.append((key, value))
    return out


class Listing:
    """events.list over a :class:`GoogleState` (callers hold its lock)."""

    def __init__(self, state: GoogleState, events: Events) -> None:
        self.state = state
        self.events = events

    def sync_token(self, cal: Calendar, version: int) -> str:
        return _encode(["s", self.state.instance, self.state.sync_epoch, cal.id, version])

    def expire_sync_tokens(self) -> None:
        """Every sync token issued so far becomes 410 ``fullSyncRequired`` (fault API)."""
        with self.state.lock:
            self.state.sync_epoch += 1

    def _since(self, cal: Calendar, token: str) -> int:
        try:
            kind, instance, epoch, cal_id, version = _decode(token)
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise full_sync_required() from None
        if (kind, instance, epoch, cal_id) != ("s", self.state.instance, self.state.sync_epoch, cal.id):
            raise full_sync_required()
        if not isinstance(version, int) or version > cal.version:
            raise full_sync_required()
        return version

    def page(self, cal: Calendar, params: QueryParams) -> dict[str, Any]:
        """One page of events.list, as Google shapes it (§1.4)."""
        sync = params.get("syncToken")
        show_deleted = _flag(params, "showDeleted")
        single = _flag(params, "singleEvents")
        since: int | None = None
        if sync is not None:
            for name in NOT_WITH_SYNC_TOKEN:
                if name in params:
                    raise bad_request(f"The syncToken parameter cannot be combined with {name}.", location=name)
            if show_deleted is False:
                raise bad_request("showDeleted=false cannot be combined with syncToken: deleted events are always "
                                  "included in an incremental sync.", location="showDeleted")
            since = self._since(cal, sync)
        order = params.get("orderBy")
        if order not in (None, "startTime", "updated"):
            raise bad_request(f"Invalid orderBy value {order!r}: use startTime or updated.", location="orderBy")
        if order == "startTime" and not single:
            raise bad_request("The requested ordering is not available for the particular query.",
                              location="orderBy")
        try:
            size = int(params.get("maxResults", DEFAULT_PAGE))
        except ValueError:
            raise bad_request("Invalid maxResults: it must be an integer.", location="maxResults") from None
        if size < 1:
            raise bad_request("Invalid maxResults: it must be at least 1.", location="maxResults")
        size = min(size, MAX_PAGE)

        time_min = parse_instant(params["timeMin"], "timeMin").timestamp() if "timeMin" in params else None
        time_max = parse_instant(params["timeMax"], "timeMax").timestamp() if "timeMax" in params else None
        if time_min is not None and time_max is not None and time_max <= time_min:
            raise time_range_empty("timeMax")
        updated_min = parse_instant(params["updatedMin"], "updatedMin").timestamp() if "updatedMin" in params else None
        include_deleted = since is not None or bool(show_deleted) or updated_min is not None
        uid = params.get("iCalUID")
        query = params.get("q", "").lower() or None
        private = _property_filters(params, "privateExtendedProperty")
        shared = _property_filters(params, "sharedExtendedProperty")
        types = params.getlist("eventTypes")
        if types and "default" not in types:
            return self._page(cal, params, [], None, cal.version)

        cursor: Any = None
        snapshot = cal.version
        if "pageToken" in params:
            try:
                kind, cursor, snapshot = _decode(params["pageToken"])
                if kind != "p":
                    raise ValueError(kind)
            except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
                raise bad_request("Invalid pageToken value.", location="pageToken") from None

        def wanted(ev: StoredEvent) -> bool:
            if since is not None and ev.version <= since:
                return False
            if ev.cancelled and not include_deleted:
                return False
            if time_min is not None and ev.end_ts <= time_min and not (ev.end_ts == ev.start_ts == time_min):
                return False
            if time_max is not None and ev.start_ts >= time_max:
                return False
            if updated_min is not None and ev.updated_ts < updated_min:
                return False
            if uid is not None and ev.data.get("iCalUID") != uid:
                return False
            if query is not None and query not in _haystack(ev):
                return False
            props = ev.data.get("extendedProperties", {})
            if any(props.get("private", {}).get(k) != v for k, v in private):
                return False
            return not any(props.get("shared", {}).get(k) != v for k, v in shared)

        if order == "startTime":
            keyed: Iterable[tuple[Any, StoredEvent]] = sorted(
                ((ev.start_ts, ev.id), ev) for ev in cal.events.values()
            )
            if cursor is not None:
                after = (float(cursor[0]), str(cursor[1]))
                keyed = (pair for pair in keyed if pair[0] > after)
        else:
            keyed = self._by_version(cal, int(cursor) if cursor is not None else None)
        items: list[StoredEvent] = []
        last_key: Any = None
        more = False
        for key, ev in keyed:
            if not wanted(ev):
                continue
            if len(items) == size:
                more = True
                break
            items.append(ev)
            last_key = key
        next_page = _encode(["p", list(last_key) if isinstance(last_key, tuple) else last_key, snapshot]) if more \
            else None
        return self._page(cal, params, items, next_page, snapshot)

    @staticmethod
    def _by_version(cal: Calendar, after: int | None) -> Iterator[tuple[int, StoredEvent]]:
        for ev in cal.events.values():
            if after is None or ev.version > after:
                yield ev.version, ev

    def _page(
        self, cal: Calendar, params: QueryParams, items: list[StoredEvent], next_page: str | None, snapshot: int
    ) -> dict[str, Any]:
        newest = max((ev.updated_ts for ev in items), default=self.state.clock.now())
        out: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": f'"p{cal.version:x}"',
            "summary": cal.summary,
            "updated": rfc3339(newest),
            "timeZone": params.get("timeZone") or cal.time_zone,
            "accessRole": "owner",
            "defaultReminders": [],
            "items": [self.events.render(cal, ev) for ev in items],
        }
        if cal.description:
            out["description"] = cal.description
        if next_page is not None:
            out["nextPageToken"] = next_page
        else:
            out["nextSyncToken"] = self.sync_token(cal, snapshot)
        return out


def _haystack(ev: StoredEvent) -> str:
    data = ev.data
    parts = [str(data.get(k, "")) for k in ("summary", "description", "location")]
    parts.append(str(data.get("organizer", {}).get("email", "")))
    for attendee in data.get("attendees", []):
        parts.append(attendee.get("email", ""))
        parts.append(str(attendee.get("displayName", "")))
    return " ".join(parts).lower()

