"""Invitations between sandbox accounts: one event, one copy per attendee calendar, kept in step (§1.2).

When an event organized on X's calendar lists attendee Y and Y is a sandbox account, Y's primary calendar holds
Y's copy: same id and iCalUID, organizer X, Y marked ``self``, response ``needsAction``. The organizer's edits and
cancellation flow to every copy; Y may change only their own response and comment, and their personal fields
(reminders, transparency, color, private extended properties). Anything else is 403
``forbiddenForNonOrganizer`` (for shared extended properties with Google's exact message, §1.2). Y's response
flows back to X's copy and on to the other attendees' copies. Every copy that changes gets its own version in
its own calendar's change log, so sync tokens and watch channels of both sides see it.

Choice (not documented by Google for the API): an attendee deleting their copy removes it from their calendar
(it reads as cancelled there) and declines the invitation on the organizer's side.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from calsync.sandbox.google.errors import forbidden_for_non_organizer
from calsync.sandbox.google.state import Calendar, StoredEvent

if TYPE_CHECKING:
    from calsync.sandbox.google.events import Events

PERSONAL = ("reminders", "transparency", "colorId")
SHARED_MESSAGE = "Shared properties can only be changed by the organizer of the event."


def attendee_set(ev: StoredEvent) -> frozenset[str]:
    return frozenset(a["email"].lower() for a in ev.data.get("attendees", []))


def _comparable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "updated"}


def _own(data: dict[str, Any], ids: frozenset[str]) -> list[dict[str, Any]]:
    return [a for a in data.get("attendees", []) if a["email"].lower() in ids]


class Invitations:
    """Propagation between an organizer's event and its attendees' copies. Callers hold the state lock."""

    def __init__(self, events: Events) -> None:
        self.events = events
        self.state = events.state

    attendee_set = staticmethod(attendee_set)

    def from_organizer(self, org_cal: Calendar, ev: StoredEvent, *, previous: frozenset[str]) -> None:
        """Bring every sandbox attendee's copy in line with the organizer's event (create, update, cancel)."""
        if ev.kind != "own":
            return
        current = attendee_set(ev)
        for email in sorted(current | previous):
            if email in org_cal.owner_ids():
                continue
            target = self.state.calendars.get(email)
            if target is None or not target.primary:
                continue
            existing = target.events.get(ev.id)
            if existing is not None and existing.kind != "invite":
                continue  # the attendee already has an unrelated event with this id: leave it alone
            if email not in current:
                if existing is not None and not existing.cancelled:
                    data = copy.deepcopy(existing.data)
                    data["status"] = "cancelled"
                    self.events.commit(target, existing, data, "invite", existing.start_ts, existing.end_ts)
                continue
            if existing is None and ev.cancelled:
                continue
            removed = existing is not None and existing.removed_by_attendee and email in previous
            data = self._copy_data(ev, existing)
            if removed:
                data["status"] = "cancelled"
            if existing is not None and _comparable(existing.data) == _comparable(data) and (
                existing.removed_by_attendee == removed
            ):
                continue
            self.events.commit(target, existing, data, "invite", ev.start_ts, ev.end_ts, removed=removed)

    def attendee_edits(self, cal: Calendar, ev: StoredEvent, body: dict[str, Any]) -> StoredEvent:
        """An attendee changes their copy: only personal fields and their own response are theirs to change."""
        self.events._check_sequence(ev, body)
        proposed, _, _ = self.events.build(cal, ev, body, self.events._keep(ev))
        for key in sorted(set(ev.data) | set(proposed)):
            if key in PERSONAL or key in ("updated", "sequence", "attendees", "extendedProperties"):
                continue
            if ev.data.get(key) != proposed.get(key):
                raise forbidden_for_non_organizer(
                    f"Only the organizer of the event can change {key}; an attendee may change their own "
                    "responseStatus and comment, reminders, transparency, colorId and private extended properties."
                )
        before_props = ev.data.get("extendedProperties", {})
        after_props = proposed.get("extendedProperties", {})
        if before_props.get("shared") != after_props.get("shared"):
            raise forbidden_for_non_organizer(SHARED_MESSAGE)
        if attendee_set(ev) != frozenset(a["email"].lower() for a in proposed.get("attendees", [])):
            raise forbidden_for_non_organizer(
                "Only the organizer of the event can add or remove attendees."
            )
        data = copy.deepcopy(ev.data)
        for key in PERSONAL:
            if key in proposed:
                data[key] = proposed[key]
            else:
                data.pop(key, None)
        props = {k: v for k, v in (("shared", before_props.get("shared")), ("private", after_props.get("private")))
                 if v}
        if props:
            data["extendedProperties"] = props
        else:
            data.pop("extendedProperties", None)
        ids = cal.owner_ids()
        wanted = {a["email"].lower(): a for a in _own(proposed, ids)}
        responded = False
        for attendee in data.get("attendees", []):
            mine = wanted.get(attendee["email"].lower())
            if mine is None:
                continue
            for key in ("responseStatus", "comment"):
                if attendee.get(key) != mine.get(key):
                    responded = True
                    if key in mine:
                        attendee[key] = mine[key]
                    else:
                        attendee.pop(key, None)
        removed = ev.removed_by_attendee
        if removed and any(a.get("responseStatus") in ("accepted", "tentative") for a in _own(data, ids)):
            removed = False  # answering yes again puts the invitation back on the calendar
            upstream = self._organizer_event(ev)
            data["status"] = upstream.data.get("status", "confirmed") if upstream else "confirmed"
        new = self.events.commit(cal, ev, data, "invite", ev.start_ts, ev.end_ts, removed=removed)
        if responded:
            self._respond_upstream(cal, new)
        return new

    def attendee_removes(self, cal: Calendar, ev: StoredEvent) -> None:
        """An attendee deletes their copy: it is cancelled on their calendar and declined for the organizer."""
        data = copy.deepcopy(ev.data)
        data["status"] = "cancelled"
        for attendee in _own(data, cal.owner_ids()):
            attendee["responseStatus"] = "declined"
        new = self.events.commit(cal, ev, data, "invite", ev.start_ts, ev.end_ts, removed=True)
        self._respond_upstream(cal, new)

    def _organizer_event(self, ev: StoredEvent) -> StoredEvent | None:
        org_cal = self.state.calendars.get(str(ev.data.get("organizer", {}).get("email", "")).lower())
        upstream = org_cal.events.get(ev.id) if org_cal else None
        return upstream if upstream is not None and upstream.kind == "own" else None

    def _respond_upstream(self, cal: Calendar, ev: StoredEvent) -> None:
        org_cal = self.state.calendars.get(str(ev.data.get("organizer", {}).get("email", "")).lower())
        upstream = self._organizer_event(ev)
        if org_cal is None or upstream is None:
            return
        ids = cal.owner_ids()
        mine = {a["email"].lower(): a for a in _own(ev.data, ids)}
        data = copy.deepcopy(upstream.data)
        for attendee in data.get("attendees", []):
            answer = mine.get(attendee["email"].lower())
            if answer is None:
                continue
            for key in ("responseStatus", "comment"):
                if key in answer:
                    attendee[key] = answer[key]
                else:
                    attendee.pop(key, None)
        if data == upstream.data:
            return
        new = self.events.commit(org_cal, upstream, data, "own", upstream.start_ts, upstream.end_ts)
        self.from_organizer(org_cal, new, previous=attendee_set(upstream))

    @staticmethod
    def _copy_data(ev: StoredEvent, existing: StoredEvent | None) -> dict[str, Any]:
        data = {k: copy.deepcopy(v) for k, v in ev.data.items() if k not in PERSONAL and k != "extendedProperties"}
        mine = existing.data if existing is not None else {}
        for key in PERSONAL:
            if key in mine:
                data[key] = copy.deepcopy(mine[key])
        data.setdefault("reminders", {"useDefault": True})
        props = {}
        shared = ev.data.get("extendedProperties", {}).get("shared")
        private = mine.get("extendedProperties", {}).get("private")
        if shared:
            props["shared"] = dict(shared)
        if private:
            props["private"] = dict(private)
        if props:
            data["extendedProperties"] = props
        return data
