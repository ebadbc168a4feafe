"""Calendar v3 event writes and reads on one calendar: insert, import, get, update, patch, delete (§1.1-§1.3).

What the emulator enforces, as Google does:
- ids: client-chosen (base32hex, length 5-1024) or generated; 409 ``duplicate`` for an id that exists on the
  calendar, deleted or not; cancelled events are kept (get returns them) and a second delete is 410 ``deleted``.
- every change gets a new etag; ``If-Match`` with another etag is 412 ``conditionNotMet``.
- ``sequence`` below the stored one is 400; an organizer's change of time or place bumps it.
- ``organizer`` is read-only: the calendar on insert, the body's only on import (§1.2).
Invitations between sandbox accounts are kept in step by :mod:`calsync.sandbox.google.invites`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from calsync.sandbox.google.errors import ApiError, bad_request, not_found, required
from calsync.sandbox.google.invites import Invitations
from calsync.sandbox.google.state import Calendar, EventKind, GoogleState, StoredEvent, random_base32hex
from calsync.sandbox.google.times import event_span, rfc3339

EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
RESPONSES = frozenset({"needsAction", "declined", "tentative", "accepted"})
WRITABLE = frozenset({
    "summary", "description", "location", "colorId", "start", "end", "endTimeUnspecified", "recurrence",
    "transparency", "visibility", "iCalUID", "sequence", "attendees", "guestsCanInviteOthers", "guestsCanModify",
    "guestsCanSeeOtherGuests", "anyoneCanAddSelf", "extendedProperties", "reminders", "source", "status",
    "attachments", "conferenceData", "eventType",
})
REPLACED_ON_PATCH = frozenset({"start", "end", "attendees", "recurrence", "attachments", "source"})
TIME_OR_PLACE = ("start", "end", "location", "recurrence")
ENUMS = {
    "status": ("confirmed", "tentative", "cancelled"),
    "transparency": ("opaque", "transparent"),
    "visibility": ("default", "public", "private", "confidential"),
}


def precondition_failed() -> ApiError:
    return ApiError(412, "conditionNotMet", "Precondition Failed", location_type="header", location="If-Match")


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Google's patch semantics: objects merge key by key, arrays and EventDateTimes are replaced, null clears."""
    out = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict) and key not in REPLACED_ON_PATCH:
            out[key] = merge_patch(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def writable_view(data: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in data.items() if k in WRITABLE}


class Events:
    """Event operations on a :class:`GoogleState`. Callers hold ``state.lock``."""

    def __init__(self, state: GoogleState, on_change: Callable[[Calendar], None]) -> None:
        self.state = state
        self.on_change = on_change
        self.invites = Invitations(self)

    # --- lookups ----------------------------------------------------------------------------------------
    def calendar(self, account: str, calendar_id: str) -> Calendar:
        """The caller's calendar by id or the ``primary`` keyword; anyone else's is 404 (§1.6)."""
        key = account if calendar_id == "primary" else calendar_id.lower()
        cal = self.state.calendars.get(key)
        if cal is None or cal.owner != account:
            raise not_found()
        return cal

    @staticmethod
    def get(cal: Calendar, event_id: str) -> StoredEvent:
        ev = cal.events.get(event_id)
        if ev is None:
            raise not_found()
        return ev

    # --- rendering --------------------------------------------------------------------------------------
    @staticmethod
    def render(cal: Calendar, ev: StoredEvent) -> dict[str, Any]:
        """The Event resource as this calendar's owner sees it: ``self`` marks this calendar (§1.2)."""
        ids = cal.owner_ids()
        out = dict(ev.data)
        out["kind"] = "calendar#event"
        out["etag"] = ev.etag
        for key in ("organizer", "creator"):
            person = out.get(key)
            if person and person.get("email", "").lower() in ids:
                out[key] = {**person, "self": True}
        attendees = out.get("attendees")
        if attendees:
            organizer = out.get("organizer", {}).get("email", "").lower()
            rendered = []
            for a in attendees:
                email = a["email"].lower()
                if email in ids or email == organizer:
                    a = dict(a)
                    if email in ids:
                        a["self"] = True
                    if email == organizer:
                        a["organizer"] = True
                rendered.append(a)
            out["attendees"] = rendered
        return out

    # --- writes -----------------------------------------------------------------------------------------
    def insert(self, cal: Calendar, body: dict[str, Any]) -> StoredEvent:
        """events.insert: the calendar is the organizer, whatever the body says (§1.2)."""
        event_id = self._new_id(cal, body.get("id"))
        if body.get("eventType", "default") != "default":
            raise bad_request("Only events of type default can be created with this sandbox.")
        organizer: dict[str, Any] = {"email": cal.id}
        if not cal.primary:
            organizer["displayName"] = cal.summary
        fixed = self._fixed(cal, event_id, str(body.get("iCalUID") or f"{event_id}@google.com"), organizer)
        ev = self._store(cal, None, body, fixed, "own")
        self.invites.from_organizer(cal, ev, previous=frozenset())
        return ev

    def import_(self, cal: Calendar, body: dict[str, Any]) -> StoredEvent:
        """events.import: a private copy; the organizer comes from the body; an iCalUID already on this calendar
        is updated in place (upsert, UNCONFIRMED in §1.3)."""
        uid = body.get("iCalUID")
        if not uid or not isinstance(uid, str):
            raise required("Missing iCalUID.")
        if body.get("eventType", "default") != "default":
            raise bad_request("Only events of type default can be imported (§1.1).", location="eventType")
        organizer = body.get("organizer") if isinstance(body.get("organizer"), dict) else None
        if organizer is not None:
            if not organizer.get("email"):
                raise required("Missing organizer email.")
            organizer = {k: organizer[k] for k in ("email", "displayName") if k in organizer}
        else:
            organizer = {"email": cal.id}
        existing = next((e for e in cal.events.values() if e.data.get("iCalUID") == uid), None)
        if existing is not None:
            if existing.kind != "import":
                raise ApiError(409, "duplicate", "The requested identifier already exists.")
            self._check_sequence(existing, body)
            fixed = {**self._keep(existing), "organizer": organizer}
            merged = {"status": "confirmed", **body}
            return self._store(cal, existing, merged, fixed, "import")
        event_id = self._new_id(cal, body.get("id"))
        return self._store(cal, None, body, self._fixed(cal, event_id, uid, organizer), "import")

    def update(self, cal: Calendar, event_id: str, body: dict[str, Any], if_match: str | None) -> StoredEvent:
        """events.update: full replace of the writable fields (§1.1)."""
        ev = self.get(cal, event_id)
        self._check_etag(ev, if_match)
        return self._change(cal, ev, body)

    def patch(self, cal: Calendar, event_id: str, body: dict[str, Any], if_match: str | None) -> StoredEvent:
        """events.patch: merge the body into the stored event, then behave like update."""
        ev = self.get(cal, event_id)
        self._check_etag(ev, if_match)
        return self._change(cal, ev, merge_patch(writable_view(ev.data), body))

    def delete(self, cal: Calendar, event_id: str, if_match: str | None) -> None:
        """events.delete: the event becomes ``cancelled`` and stays readable; twice is 410 ``deleted`` (§1.1)."""
        ev = self.get(cal, event_id)
        self._check_etag(ev, if_match)
        if ev.cancelled:
            raise ApiError(410, "deleted", "Resource has been deleted")
        if ev.kind == "invite":
            self.invites.attendee_removes(cal, ev)
            return
        data = copy.deepcopy(ev.data)
        data["status"] = "cancelled"
        if ev.kind == "own":
            data["sequence"] = int(data.get("sequence", 0)) + 1
        new = self.commit(cal, ev, data, ev.kind, ev.start_ts, ev.end_ts)
        if ev.kind == "own":
            self.invites.from_organizer(cal, new, previous=self.invites.attendee_set(ev))

    # --- internals ---------------------------------------------------------------------------------------
    def _change(self, cal: Calendar, ev: StoredEvent, body: dict[str, Any]) -> StoredEvent:
        if ev.kind == "invite":
            return self.invites.attendee_edits(cal, ev, body)
        self._check_sequence(ev, body)
        new = self._store(cal, ev, body, self._keep(ev), ev.kind)
        if ev.kind == "own":
            self.invites.from_organizer(cal, new, previous=self.invites.attendee_set(ev))
        return new

    def _store(
        self, cal: Calendar, old: StoredEvent | None, body: dict[str, Any], fixed: dict[str, Any], kind: EventKind
    ) -> StoredEvent:
        data, start_ts, end_ts = self.build(cal, old, body, fixed)
        if old is not None and kind == "own":
            changed = any(old.data.get(k) != data.get(k) for k in TIME_OR_PLACE)
            if changed and data["sequence"] <= int(old.data.get("sequence", 0)):
                data["sequence"] = int(old.data.get("sequence", 0)) + 1
        return self.commit(cal, old, data, kind, start_ts, end_ts)

    def build(
        self, cal: Calendar, old: StoredEvent | None, body: dict[str, Any], fixed: dict[str, Any]
    ) -> tuple[dict[str, Any], float, float]:
        """Validate a body and produce the stored resource (writable fields from the body, ``fixed`` on top)."""
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object (an Event resource).")
        start, end = event_span(body, cal.time_zone)
        data: dict[str, Any] = {k: copy.deepcopy(v) for k, v in body.items() if k in WRITABLE and v is not None}
        for key, allowed in ENUMS.items():
            if key in data and data[key] not in allowed:
                raise bad_request(f"Invalid value for {key}: {data[key]!r}; use one of {', '.join(allowed)}.")
        data["status"] = data.get("status", "confirmed")
        data["start"], data["end"] = start.value, end.value
        try:
            data["sequence"] = int(data.get("sequence", old.data.get("sequence", 0) if old else 0))
        except (TypeError, ValueError):
            raise bad_request("Invalid sequence value: it must be an integer.") from None
        data["extendedProperties"] = self._extended(data.get("extendedProperties"))
        if not data["extendedProperties"]:
            del data["extendedProperties"]
        data["reminders"] = data.get("reminders") or {"useDefault": True}
        data["eventType"] = "default"
        organizer_email = str(fixed["organizer"]["email"]).lower()
        attendees = self._attendees(data.get("attendees"), old, organizer_email, cal)
        if attendees:
            data["attendees"] = attendees
        else:
            data.pop("attendees", None)
        data.update(fixed)
        return data, start.ts, end.ts

    def commit(
        self, cal: Calendar, old: StoredEvent | None, data: dict[str, Any], kind: EventKind,
        start_ts: float, end_ts: float, *, removed: bool = False,
    ) -> StoredEvent:
        """Store a new version: fresh etag and ``updated``, moved to the end of the change log, watchers told."""
        now = self.state.clock.now()
        data["updated"] = rfc3339(now)
        cal.version += 1
        ev = StoredEvent(data, kind, cal.version, self.state.next_etag(), start_ts, end_ts, now, removed)
        cal.events.pop(ev.id, None)
        cal.events[ev.id] = ev
        self.on_change(cal)
        return ev

    def _fixed(self, cal: Calendar, event_id: str, uid: str, organizer: dict[str, Any]) -> dict[str, Any]:
        now = rfc3339(self.state.clock.now())
        return {
            "id": event_id, "iCalUID": uid, "created": now, "creator": {"email": cal.owner},
            "organizer": organizer, "htmlLink": f"https://calendar.google.com/calendar/event?eid={event_id}",
        }

    @staticmethod
    def _keep(ev: StoredEvent) -> dict[str, Any]:
        return {k: copy.deepcopy(ev.data[k]) for k in ("id", "iCalUID", "created", "creator", "organizer", "htmlLink")}

    def _new_id(self, cal: Calendar, requested: Any) -> str:
        if requested is None:
            event_id = random_base32hex()
            while event_id in cal.events:
                event_id = random_base32hex()
            return event_id
        if not isinstance(requested, str) or not EVENT_ID.fullmatch(requested):
            raise bad_request("Invalid resource id value.")
        if requested in cal.events:
            raise ApiError(409, "duplicate", "The requested identifier already exists.")
        return requested

    @staticmethod
    def _check_etag(ev: StoredEvent, if_match: str | None) -> None:
        if if_match is not None and if_match.strip() not in ("*", ev.etag):
            raise precondition_failed()

    @staticmethod
    def _check_sequence(ev: StoredEvent, body: dict[str, Any]) -> None:
        sequence = body.get("sequence")
        if isinstance(sequence, int) and sequence < int(ev.data.get("sequence", 0)):
            raise bad_request(
                "Invalid sequence value. The specified sequence number is below the current sequence number of "
                "the resource. Re-fetch the resource and use its sequence number on the following request."
            )

    @staticmethod
    def _extended(raw: Any) -> dict[str, dict[str, str]]:
        if raw is None:
            return {}
        if not isinstance(raw, dict) or set(raw) - {"private", "shared"}:
            raise bad_request("extendedProperties must be an object with only 'private' and 'shared' maps.")
        out: dict[str, dict[str, str]] = {}
        for scope, values in raw.items():
            if values is None:
                continue
            if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
                raise bad_request(f"extendedProperties.{scope} must map names to string values.")
            if values:
                out[scope] = dict(values)
        return out

    @staticmethod
    def _attendees(
        raw: Any, old: StoredEvent | None, organizer_email: str, cal: Calendar
    ) -> list[dict[str, Any]]:
        """Attendees as stored: read-only flags dropped; a listed attendee's response stays theirs unless the
        caller is that attendee's own calendar (new attendees may be given a response, default needsAction)."""
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise bad_request("attendees must be a list of EventAttendee objects.")
        previous = {a["email"].lower(): a for a in (old.data.get("attendees", []) if old else [])}
        ids = cal.owner_ids()
        out: dict[str, dict[str, Any]] = {}
        for item in raw:
            if not isinstance(item, dict) or not isinstance(item.get("email"), str) or "@" not in item["email"]:
                raise required("Missing attendee email.")
            attendee = {k: v for k, v in item.items() if k not in ("self", "organizer", "id")}
            email = attendee["email"].lower()
            status = attendee.get("responseStatus")
            if status is not None and status not in RESPONSES:
                raise bad_request(f"Invalid attendee responseStatus {status!r}; use one of {sorted(RESPONSES)}.")
            before = previous.get(email)
            if before is not None and email not in ids:
                for key in ("responseStatus", "comment"):
                    if key in before:
                        attendee[key] = before[key]
                    else:
                        attendee.pop(key, None)
            elif status is None:
                attendee["responseStatus"] = "accepted" if email == organizer_email else "needsAction"
            out[email] = attendee
        return list(out.values())
