"""Collections: event lists, ``calendarView`` and ``calendarView/delta`` (provider-facts §3.1, §3.5).

Delta follows the documented contract, not a convenient one:

- a round starts with ``startDateTime``/``endDateTime`` and is continued only by replaying ``@odata.nextLink``
  (``$skiptoken``) and ``@odata.deltaLink`` (``$deltatoken``) verbatim; the tokens are opaque and server-side;
- ``$select``, ``$expand``, ``$filter``, ``$orderby`` and ``$search`` are refused (400);
- incremental rounds report deleted events, and events changed *outside* the window, as
  ``{"@removed": {"reason": "deleted"}}``; the client must filter by range itself;
- an unknown or expired token gives 410 ``syncStateNotFound`` with a ``Location`` header for a fresh round;
- ``settings.delta_empty_first_page`` makes every round start with an empty page carrying a ``nextLink``
  (real Graph does this at times), to keep clients honest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from calsync.sandbox import ids
from calsync.sandbox.microsoft.errors import GraphError
from calsync.sandbox.microsoft.odata import Prefer, Query
from calsync.sandbox.microsoft.render import event_json
from calsync.sandbox.microsoft.state import Account, Calendar, Event
from calsync.sandbox.microsoft.timezones import Zone, parse_query_instant

WINDOW_REQUIRED = (
    "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime."
)


def in_window(event: Event, start: dt.datetime, end: dt.datetime) -> bool:
    return event.start < end and event.end > start


def window(params: dict[str, str]) -> tuple[dt.datetime, dt.datetime]:
    raw_start, raw_end = params.get("startdatetime"), params.get("enddatetime")
    if not raw_start or not raw_end:
        raise GraphError(400, "ErrorInvalidParameter", WINDOW_REQUIRED)
    start = parse_query_instant(raw_start, "startDateTime")
    end = parse_query_instant(raw_end, "endDateTime")
    if end <= start:
        raise GraphError(400, "ErrorInvalidParameter", "endDateTime must be after startDateTime.")
    return start, end


def _sort(events: list[Event], query: Query, default: str) -> list[Event]:
    order = query.orderby or [(default, False)]
    for fieldname, desc in reversed(order):
        events.sort(key=lambda ev, f=fieldname: getattr(ev, f), reverse=desc)  # type: ignore[misc]
    return events


def page_of(
    events: list[Event], owner: Account, query: Query, prefer: Prefer, zone: Zone | None, link_base: str,
    params: dict[str, str], default_size: int, base: str,
) -> dict[str, Any]:
    """One page of a collection, with ``@odata.nextLink`` carrying ``$skip`` (replay it verbatim)."""
    size = query.top if query.top is not None else (prefer.maxpagesize or default_size)
    size = max(size, 1)
    chunk = events[query.skip : query.skip + size]
    out: dict[str, Any] = {
        "@odata.context": f"{base}/$metadata#users('{quote(owner.email)}')/events",
        "value": [event_json(ev, owner, zone, query.select, query.expand_props, base) for ev in chunk],
    }
    if query.skip + size < len(events):
        nxt = {k: v for k, v in params.items() if k != "$skip"}
        nxt["$skip"] = str(query.skip + size)
        out["@odata.nextLink"] = link_base + "?" + "&".join(f"{k}={quote(v, safe=':/')}" for k, v in nxt.items())
    return out


def list_events(
    owner: Account, calendar: Calendar | None, query: Query, prefer: Prefer, zone: Zone | None,
    link_base: str, params: dict[str, str], default_size: int, base: str,
) -> dict[str, Any]:
    events = [
        ev for ev in owner.events.values()
        if not ev.deleted and (calendar is None or ev.calendar_id == calendar.id)
        and all(p(ev) for p in query.predicates)
    ]
    return page_of(_sort(events, query, "created"), owner, query, prefer, zone, link_base, params, default_size,
                   base)


def calendar_view(
    owner: Account, calendar: Calendar | None, query: Query, prefer: Prefer, zone: Zone | None,
    link_base: str, params: dict[str, str], default_size: int, base: str,
) -> dict[str, Any]:
    start, end = window(params)
    events = [
        ev for ev in owner.events.values()
        if not ev.deleted and (calendar is None or ev.calendar_id == calendar.id) and in_window(ev, start, end)
        and all(p(ev) for p in query.predicates)
    ]
    return page_of(_sort(events, query, "start"), owner, query, prefer, zone, link_base, params, default_size,
                   base)


@dataclass
class DeltaRound:
    """Server-side state behind one ``$deltatoken`` or ``$skiptoken``."""

    account_id: str
    calendar_id: str
    start: dt.datetime
    end: dt.datetime
    path: str
    since: int = 0
    pending: list[tuple[str, bool]] = field(default_factory=list)
    """(event id, removed) still to be returned in this round (for skip tokens)."""
    upto: int = 0
    expired: bool = False
    is_skip: bool = False
    empty_sent: bool = False


class DeltaTokens:
    """Issued delta/skip tokens; :meth:`expire_all` is the admin 'expire delta tokens' fault."""

    def __init__(self) -> None:
        self.rounds: dict[str, DeltaRound] = {}

    def reset(self) -> None:
        self.rounds.clear()

    def expire_all(self, account_id: str | None = None) -> int:
        count = 0
        for r in self.rounds.values():
            if account_id is None or r.account_id == account_id:
                r.expired = True
                count += 1
        return count

    def _new(self, rnd: DeltaRound) -> str:
        token = ids.token_urlsafe(24)
        self.rounds[token] = rnd
        return token


_REFUSED = ("$select", "$expand", "$filter", "$orderby", "$search", "$top", "$skip", "$count")


def delta(
    tokens: DeltaTokens, owner: Account, calendar: Calendar, prefer: Prefer, zone: Zone | None,
    path: str, params: dict[str, str], default_size: int, base: str, *, empty_first_page: bool = False,
) -> dict[str, Any]:
    """One page of ``calendarView/delta``."""
    refused = [p for p in _REFUSED if p in params]
    if refused:
        raise GraphError(
            400, "ErrorInvalidUrlQuery",
            f"calendarView/delta does not support {', '.join(refused)}: only startDateTime, endDateTime, "
            "$deltatoken and $skiptoken (and Prefer: odata.maxpagesize / outlook.timezone).",
        )
    link_base = base + path
    token = params.get("$deltatoken") or params.get("$skiptoken")
    if token:
        rnd = tokens.rounds.get(token)
        if rnd is None or rnd.expired or rnd.account_id != owner.id or rnd.path.lower() != path.lower():
            location = link_base + "?$deltatoken="
            if rnd is not None:
                location = (f"{link_base}?startDateTime={_iso(rnd.start)}&endDateTime={_iso(rnd.end)}"
                            "&$deltatoken=")
            raise GraphError(
                410, "syncStateNotFound",
                "The sync state generation is not found. The delta token is unknown or has expired: start a new "
                "round (full sync) from the Location header or with startDateTime/endDateTime.",
                headers={"location": location},
            )
        start, end = rnd.start, rnd.end
        if rnd.is_skip:
            pending, upto = list(rnd.pending), rnd.upto
        else:
            pending, upto = _changes_since(owner, calendar, start, end, rnd.since)
    else:
        start, end = window(params)
        pending, upto = _changes_since(owner, calendar, start, end, None)
    if empty_first_page and (not token or not tokens.rounds[token].is_skip):
        skip = tokens._new(DeltaRound(owner.id, calendar.id, start, end, path, pending=pending, upto=upto,
                                      is_skip=True))
        return {"@odata.context": f"{base}/$metadata#Collection(event)", "value": [],
                "@odata.nextLink": f"{link_base}?$skiptoken={skip}"}
    size = prefer.maxpagesize or default_size
    chunk, rest = pending[:size], pending[size:]
    values: list[dict[str, Any]] = []
    for event_id, removed in chunk:
        ev = owner.events.get(event_id)
        if removed or ev is None:
            values.append({"@odata.type": "#microsoft.graph.event", "id": event_id, "@removed": {"reason": "deleted"}})
        else:
            item = event_json(ev, owner, zone, None, None, base)
            item["@odata.type"] = "#microsoft.graph.event"
            values.append(item)
    out: dict[str, Any] = {"@odata.context": f"{base}/$metadata#Collection(event)", "value": values}
    if rest:
        skip = tokens._new(DeltaRound(owner.id, calendar.id, start, end, path, pending=rest, upto=upto,
                                      is_skip=True))
        out["@odata.nextLink"] = f"{link_base}?$skiptoken={skip}"
    else:
        dtoken = tokens._new(DeltaRound(owner.id, calendar.id, start, end, path, since=upto))
        out["@odata.deltaLink"] = f"{link_base}?$deltatoken={dtoken}"
    return out


def _iso(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _changes_since(
    owner: Account, calendar: Calendar, start: dt.datetime, end: dt.datetime, since: int | None
) -> tuple[list[tuple[str, bool]], int]:
    """(event id, removed) for a round: everything live in the window, or what changed after ``since``."""
    items: Iterable[Event] = sorted(
        (ev for ev in owner.events.values() if ev.calendar_id == calendar.id), key=lambda ev: ev.seq
    )
    out: list[tuple[str, bool]] = []
    for ev in items:
        if since is None:
            if not ev.deleted and in_window(ev, start, end):
                out.append((ev.id, False))
        elif ev.seq > since:
            out.append((ev.id, ev.deleted or not in_window(ev, start, end)))
    return out, owner.seq
