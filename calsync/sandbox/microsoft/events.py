"""What happens in mailboxes when events are created, changed, deleted and answered (provider-facts §3.1-3.3).

The same code serves Graph, the calendar page and the admin/Python API, so delta and subscriptions see every
change however it was made. Rules modelled here:

- the mailbox owner is the organizer of every event they create; ``organizer`` in a request is ignored
  (read-only), and an organizer cannot accept / tentativelyAccept / decline their own meeting;
- an attendee who is a sandbox mailbox gets their own copy (own id, same ``iCalUId``, ``isOrganizer: false``,
  ``notResponded``); their response updates the organizer's attendee list; a decline removes their copy
  (Outlook moves declined meetings to Deleted Items; ``settings.decline_removes_from_calendar``); organizer
  updates propagate and an organizer delete marks copies ``isCancelled``;
- ``transactionId`` is immutable and unique per mailbox (400 ``ErrorDuplicateTransactionId``, §3.2);
- ``changeKey`` / ``@odata.etag`` change on every change, and ``If-Match`` with a stale etag gives 412.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from calsync.sandbox import ids
from calsync.sandbox.microsoft.errors import GraphError, bad_request
from calsync.sandbox.microsoft.odata import prop_key
from calsync.sandbox.microsoft.render import etag
from calsync.sandbox.microsoft.state import (
    Account,
    Attendee,
    Calendar,
    Change,
    Event,
    MicrosoftState,
    new_change_key,
    new_id,
)
from calsync.sandbox.microsoft.timezones import format_utc_stamp, parse_local, resolve, to_utc

SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")
SENSITIVITY = ("normal", "personal", "private", "confidential")
IMPORTANCE = ("low", "normal", "high")
ATTENDEE_TYPES = ("required", "optional", "resource")
READ_ONLY = {
    "id", "@odata.etag", "@odata.type", "@odata.context", "changekey", "createddatetime", "lastmodifieddatetime",
    "icaluid", "uid", "isorganizer", "responsestatus", "organizer", "type", "seriesmasterid", "weblink",
    "hasattachments", "bodypreview", "iscancelled", "originalstarttimezone", "originalendtimezone", "isdraft",
    "onlinemeetingurl", "onlinemeeting",
}
WRITABLE = {
    "subject", "body", "start", "end", "isallday", "showas", "sensitivity", "importance", "location",
    "locations", "categories", "attendees", "transactionid", "singlevalueextendedproperties", "recurrence",
    "reminderminutesbeforestart", "isreminderon", "responserequested", "isonlinemeeting",
    "onlinemeetingprovider", "allownewtimeproposals", "hideattendees",
}
PROPAGATED = ("subject", "body", "start", "end", "start_zone", "end_zone", "is_all_day", "location",
              "sensitivity", "importance", "recurrence")
_ORGANIZER_RESPONSE = (
    "Your request can't be completed. You can't respond to this meeting because you're the meeting organizer."
)


def _ical_uid() -> str:
    return "040000008200E00074C5B7101A82E00800000000" + ids.token_hex(28).upper()


class Mailboxes:
    """Event operations over :class:`MicrosoftState`; every method expects the caller to hold ``state.lock``."""

    def __init__(self, state: MicrosoftState, now: Any) -> None:
        self.state = state
        self._now = now

    def now(self) -> dt.datetime:
        value: dt.datetime = self._now()
        return value

    # ----- helpers ---------------------------------------------------------------------------------------
    def touch(self, owner: Account, event: Event) -> None:
        owner.seq += 1
        event.seq = owner.seq
        event.change_key = new_change_key()
        event.modified = self.now()

    def find(self, owner: Account, event_id: str, calendar: Calendar | None = None) -> Event:
        event = owner.events.get(event_id)
        if event is None or event.deleted or (calendar is not None and event.calendar_id != calendar.id):
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        return event

    @staticmethod
    def check_if_match(event: Event, if_match: str | None) -> None:
        if if_match and if_match.strip() != "*" and if_match.strip() != etag(event):
            raise GraphError(
                412,
                "ErrorIrresolvableConflict",
                "The send or update operation could not be performed because the change key passed in the request "
                "does not match the current change key for the item.",
            )

    # ----- payload ---------------------------------------------------------------------------------------
    def _apply(self, event: Event, owner: Account, payload: dict[str, Any], *, creating: bool) -> None:
        unknown = [k for k in payload if k.lower() not in WRITABLE and k.lower() not in READ_ONLY]
        if unknown:
            raise bad_request(
                f"The property '{unknown[0]}' does not exist on type 'microsoft.graph.event'. Make sure to only use "
                "property names that are defined by the type.",
                "RequestBodyRead",
            )
        p = {k.lower(): v for k, v in payload.items()}
        if "subject" in p:
            if p["subject"] is not None and not isinstance(p["subject"], str):
                raise bad_request("subject must be a string.")
            event.subject = p["subject"] or ""
        if "body" in p:
            body = p["body"] or {}
            if not isinstance(body, dict) or str(body.get("contentType", "text")).lower() not in ("text", "html"):
                raise bad_request("body must be {contentType: 'text'|'html', content: '...'}.")
            event.body = {"contentType": str(body.get("contentType", "text")).lower(),
                          "content": str(body.get("content") or "")}
        for key, allowed, attr in (("showas", SHOW_AS, "show_as"), ("sensitivity", SENSITIVITY, "sensitivity"),
                                   ("importance", IMPORTANCE, "importance")):
            if key in p:
                if p[key] not in allowed:
                    raise bad_request(f"{key} must be one of {', '.join(allowed)}; got {p[key]!r}.")
                setattr(event, attr, p[key])
        if "location" in p:
            loc = p["location"] or {}
            if not isinstance(loc, dict):
                raise bad_request("location must be an object like {displayName: '...'}.")
            event.location = {"displayName": str(loc.get("displayName") or ""), "locationType": "default",
                              "uniqueIdType": "unknown", **{k: v for k, v in loc.items() if k != "displayName"}}
        if "categories" in p:
            if not isinstance(p["categories"], list) or not all(isinstance(c, str) for c in p["categories"]):
                raise bad_request("categories must be a list of strings.")
            event.categories = list(p["categories"])
        if "reminderminutesbeforestart" in p:
            event.reminder_minutes = int(p["reminderminutesbeforestart"])
        for key, attr in (("isreminderon", "is_reminder_on"), ("responserequested", "response_requested")):
            if key in p:
                setattr(event, attr, bool(p[key]))
        if "recurrence" in p:
            if p["recurrence"] is not None and not isinstance(p["recurrence"], dict):
                raise bad_request("recurrence must be a patternedRecurrence object or null.")
            event.recurrence = p["recurrence"]
        if "transactionid" in p:
            tx = p["transactionid"]
            if not creating and tx != event.transaction_id:
                raise bad_request("transactionId is immutable: it can be set only when the event is created.",
                                  "ErrorInvalidPropertyUpdate")
            if tx is not None and not isinstance(tx, str):
                raise bad_request("transactionId must be a string.")
            event.transaction_id = tx
        self._apply_times(event, p, creating=creating)
        if "attendees" in p:
            event.attendees = self._attendees(p["attendees"], event.attendees, owner)
        if "singlevalueextendedproperties" in p:
            props = p["singlevalueextendedproperties"]
            if not isinstance(props, list):
                raise bad_request("singleValueExtendedProperties must be a list of {id, value}.")
            for prop in props:
                if not isinstance(prop, dict) or "id" not in prop or "value" not in prop:
                    raise bad_request("Each single-value extended property needs 'id' and 'value'.")
                key = prop_key(str(prop["id"]))
                event.extended[key] = str(prop["value"])
                event.extended_ids.setdefault(key, str(prop["id"]))

    def _apply_times(self, event: Event, p: dict[str, Any], *, creating: bool) -> None:
        if creating and ("start" not in p or "end" not in p):
            raise bad_request("start and end are required: {dateTime: '2024-05-01T09:00:00', timeZone: 'UTC'}.")
        all_day = bool(p.get("isallday", event.is_all_day))
        start_local = end_local = None
        for key in ("start", "end"):
            if key not in p:
                continue
            value = p[key]
            if not isinstance(value, dict):
                raise bad_request(f"{key} must be a dateTimeTimeZone: {{dateTime, timeZone}}.")
            zone = resolve(value.get("timeZone"))
            local = parse_local(value.get("dateTime"), key)
            instant = to_utc(local, zone)
            if key == "start":
                event.start, event.start_zone, start_local = instant, zone.name, local
            else:
                event.end, event.end_zone, end_local = instant, zone.name, local
        event.is_all_day = all_day
        if all_day:
            for given, key, instant, zname in ((start_local, "start", event.start, event.start_zone),
                                               (end_local, "end", event.end, event.end_zone)):
                check = given if given is not None else instant.astimezone(resolve(zname).tz)
                if (check.hour, check.minute, check.second, check.microsecond) != (0, 0, 0, 0):
                    raise bad_request(
                        "Your request can't be completed. For an all-day event (isAllDay: true) the start and end "
                        f"must be at midnight; {key} is {check.isoformat()}.",
                        "ErrorPropertyValidationFailure",
                    )
        if event.end <= event.start if not all_day else event.end - event.start < dt.timedelta(days=1):
            raise bad_request(
                "Your request can't be completed. The end of the event must be after its start"
                + (" (an all-day event lasts at least one day)." if all_day else "."),
                "ErrorInvalidRequest",
            )

    def _attendees(self, raw: Any, previous: list[Attendee], owner: Account) -> list[Attendee]:
        if not isinstance(raw, list):
            raise bad_request("attendees must be a list.")
        if len(raw) > 500:
            raise bad_request("An event can have at most 500 attendees.")
        before = {a.email: a for a in previous}
        out: list[Attendee] = []
        for item in raw:
            address = ((item or {}).get("emailAddress") or {}).get("address") if isinstance(item, dict) else None
            if not isinstance(address, str) or "@" not in address:
                raise bad_request("Each attendee needs emailAddress.address.")
            email = address.strip().lower()
            kind = item.get("type", "required")
            if kind not in ATTENDEE_TYPES:
                raise bad_request(f"attendee type must be one of {', '.join(ATTENDEE_TYPES)}.")
            known = self.state.account_by_email(email)
            name = item["emailAddress"].get("name") or (known.name if known else email)
            old = before.get(email)
            out.append(Attendee(email, name, kind, old.response if old else "none",
                                old.time if old else "0001-01-01T00:00:00Z"))
        return out

    # ----- operations ------------------------------------------------------------------------------------
    def create(
        self, owner: Account, calendar: Calendar, payload: dict[str, Any], changes: list[Change]
    ) -> tuple[Event, bool]:
        """Create an event (201); returns (event, created). ``created`` is False for an accepted retry."""
        if not isinstance(payload, dict):
            raise bad_request("The request body must be a JSON object describing the event.")
        now = self.now()
        tx = payload.get("transactionId")
        fingerprint = json.dumps(payload, sort_keys=True, default=str)
        if isinstance(tx, str):
            existing_id = self.state.transaction_ids.get((owner.id, tx))
            existing = owner.events.get(existing_id) if existing_id else None
            if existing is not None and not existing.deleted:
                if (existing.fingerprint == fingerprint
                        and self.state.settings.transaction_id_identical_retry == "return_original"):
                    return existing, False
                raise GraphError(
                    400,
                    "ErrorDuplicateTransactionId",
                    "Your request can't be completed. The TransactionId specified in the request has already been "
                    "used to create a different event.",
                )
        event = Event(
            id=new_id(), calendar_id=calendar.id, ical_uid=_ical_uid(), subject="", body={}, start=now, end=now,
            start_zone="UTC", end_zone="UTC", is_all_day=False, organizer_email=owner.email,
            organizer_name=owner.name, is_organizer=True, created=now, modified=now, change_key="", seq=0,
        )
        self._apply(event, owner, payload, creating=True)
        event.fingerprint = fingerprint
        owner.events[event.id] = event
        if event.transaction_id is not None:
            self.state.transaction_ids[(owner.id, event.transaction_id)] = event.id
        self.touch(owner, event)
        changes.append(Change(owner.id, event.id, "created", etag(event)))
        self._sync_copies(owner, event, changes, times_changed=False)
        return event, True

    def update(
        self, owner: Account, event: Event, payload: dict[str, Any], if_match: str | None, changes: list[Change]
    ) -> Event:
        if not isinstance(payload, dict):
            raise bad_request("The request body must be a JSON object with the properties to change.")
        self.check_if_match(event, if_match)
        before = (event.start, event.end, event.is_all_day)
        # Validate on a copy first so a bad request changes nothing.
        trial = Event(**{**event.__dict__, "extended": dict(event.extended),
                         "extended_ids": dict(event.extended_ids), "attendees": list(event.attendees)})
        self._apply(trial, owner, payload, creating=False)
        event.__dict__.update(trial.__dict__)
        self.touch(owner, event)
        changes.append(Change(owner.id, event.id, "updated", etag(event)))
        if event.is_organizer:
            times_changed = before != (event.start, event.end, event.is_all_day)
            self._sync_copies(owner, event, changes, times_changed=times_changed)
        return event

    def delete(self, owner: Account, event: Event, if_match: str | None, changes: list[Change]) -> None:
        self.check_if_match(event, if_match)
        event.deleted = True
        self.touch(owner, event)
        changes.append(Change(owner.id, event.id, "deleted", etag(event)))
        if event.is_organizer:
            for email, copy_id in event.copies.items():
                attendee = self.state.account_by_email(email)
                copy = attendee.events.get(copy_id) if attendee else None
                if attendee is None or copy is None or copy.deleted:
                    continue
                copy.is_cancelled = True
                if self.state.settings.cancelled_subject_prefix and not copy.subject.startswith("Canceled: "):
                    copy.subject = "Canceled: " + copy.subject
                self.touch(attendee, copy)
                changes.append(Change(attendee.id, copy.id, "updated", etag(copy)))

    def respond(self, owner: Account, event: Event, action: str, send_response: bool, changes: list[Change]) -> None:
        """accept / tentativelyAccept / decline (202): the attendee's answer, carried to the organizer."""
        if event.is_organizer:
            raise GraphError(400, "ErrorInvalidRequest", _ORGANIZER_RESPONSE)
        if event.is_cancelled:
            raise GraphError(400, "ErrorInvalidRequest",
                             "Your request can't be completed. The meeting has been canceled by the organizer.")
        response = {"accept": "accepted", "tentativelyaccept": "tentativelyAccepted", "decline": "declined"}[action]
        stamp = format_utc_stamp(self.now())
        event.response, event.response_time = response, stamp
        event.show_as = {"accepted": "busy", "tentativelyAccepted": "tentative", "declined": "free"}[response]
        for a in event.attendees:
            if a.email == owner.email:
                a.response, a.time = response, stamp
        removed = response == "declined" and self.state.settings.decline_removes_from_calendar
        event.deleted = removed
        self.touch(owner, event)
        changes.append(Change(owner.id, event.id, "deleted" if removed else "updated", etag(event)))
        if event.origin is None or not send_response:
            return
        organizer = self.state.accounts.get(event.origin[0])
        master = organizer.events.get(event.origin[1]) if organizer else None
        if organizer is None or master is None or master.deleted:
            return
        for a in master.attendees:
            if a.email == owner.email:
                a.response, a.time = response, stamp
        self.touch(organizer, master)
        changes.append(Change(organizer.id, master.id, "updated", etag(master)))

    # ----- invitations -----------------------------------------------------------------------------------
    def _sync_copies(self, owner: Account, event: Event, changes: list[Change], *, times_changed: bool) -> None:
        """Deliver the organizer's item to attendees who are sandbox mailboxes (create, update or cancel)."""
        wanted = {a.email for a in event.attendees if a.email != owner.email}
        reset = times_changed and self.state.settings.time_change_resets_responses
        if reset:
            for a in event.attendees:
                a.response, a.time = "none", "0001-01-01T00:00:00Z"
        for email in sorted(wanted | set(event.copies)):
            attendee = self.state.account_by_email(email)
            if attendee is None:
                continue
            copy_id = event.copies.get(email)
            copy = attendee.events.get(copy_id) if copy_id else None
            if email not in wanted:
                if copy is not None and not copy.deleted and not copy.is_cancelled:
                    copy.is_cancelled = True
                    self.touch(attendee, copy)
                    changes.append(Change(attendee.id, copy.id, "updated", etag(copy)))
                continue
            if copy is None or (copy.deleted and copy.response != "declined"):
                copy = Event(
                    id=new_id(), calendar_id=attendee.default_calendar.id, ical_uid=event.ical_uid,
                    subject=event.subject, body=dict(event.body), start=event.start, end=event.end,
                    start_zone=event.start_zone, end_zone=event.end_zone, is_all_day=event.is_all_day,
                    organizer_email=owner.email, organizer_name=owner.name, is_organizer=False,
                    created=self.now(), modified=self.now(), change_key="", seq=0, response="notResponded",
                    show_as="tentative", origin=(owner.id, event.id),
                )
                attendee.events[copy.id] = copy
                event.copies[email] = copy.id
                kind = "created"
            elif copy.deleted:
                continue  # declined and removed: Outlook does not put it back on an update
            else:
                kind = "updated"
                if reset and copy.response != "notResponded":
                    copy.response, copy.response_time = "notResponded", "0001-01-01T00:00:00Z"
                    copy.show_as = "tentative"
            for attr in PROPAGATED:
                value = getattr(event, attr)
                setattr(copy, attr, dict(value) if isinstance(value, dict) else value)
            copy.attendees = [Attendee(a.email, a.name, a.type, a.response, a.time) for a in event.attendees]
            self.touch(attendee, copy)
            changes.append(Change(attendee.id, copy.id, kind, etag(copy)))
