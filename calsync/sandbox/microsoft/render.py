"""Events and calendars as Graph returns them (provider-facts §3.2, §3.4).

Times come back in UTC with seven fractional digits unless the request preferred another zone; all-day events
are floating dates, so they render as local midnight in whichever zone is asked for. ``transactionId`` appears
only when the app set it; extended properties only through ``$expand`` (§3.3).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from calsync.sandbox.microsoft.state import Account, Calendar, Event
from calsync.sandbox.microsoft.timezones import Zone, format_in, format_local, format_utc_stamp, resolve

UTC_ZONE = Zone("UTC", dt.UTC)


def etag(event: Event) -> str:
    return f'W/"{event.change_key}"'


def _time(instant: dt.datetime, original: str, all_day: bool, zone: Zone) -> dict[str, str]:
    if all_day:
        local_date = instant.astimezone(resolve(original).tz).date()
        return {"dateTime": format_local(dt.datetime.combine(local_date, dt.time())), "timeZone": zone.name}
    return {"dateTime": format_in(instant, zone), "timeZone": zone.name}


def _email(address: str, name: str) -> dict[str, Any]:
    return {"emailAddress": {"name": name, "address": address}}


def event_json(
    event: Event, owner: Account, zone: Zone | None = None, select: list[str] | None = None,
    expand: list[str] | None = None, base: str = "",
) -> dict[str, Any]:
    zone = zone or UTC_ZONE
    body = event.body or {"contentType": "html", "content": ""}
    out: dict[str, Any] = {
        "@odata.etag": etag(event),
        "id": event.id,
        "createdDateTime": format_utc_stamp(event.created),
        "lastModifiedDateTime": format_utc_stamp(event.modified),
        "changeKey": event.change_key,
        "categories": list(event.categories),
        "originalStartTimeZone": event.start_zone,
        "originalEndTimeZone": event.end_zone,
        "iCalUId": event.ical_uid,
        "uid": event.ical_uid,
        "reminderMinutesBeforeStart": event.reminder_minutes,
        "isReminderOn": event.is_reminder_on,
        "hasAttachments": False,
        "subject": event.subject,
        "bodyPreview": body.get("content", "")[:255],
        "importance": event.importance,
        "sensitivity": event.sensitivity,
        "isAllDay": event.is_all_day,
        "isCancelled": event.is_cancelled,
        "isOrganizer": event.is_organizer,
        "responseRequested": event.response_requested,
        "seriesMasterId": None,
        "showAs": event.show_as,
        "type": "seriesMaster" if event.recurrence else "singleInstance",
        "webLink": f"{base.split('/graph/')[0]}/calendar/microsoft/{owner.email}#event-{event.id}",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": False,
        "onlineMeetingProvider": "unknown",
        "allowNewTimeProposals": True,
        "isDraft": False,
        "hideAttendees": False,
        "responseStatus": {"response": event.response, "time": event.response_time},
        "body": dict(body),
        "start": _time(event.start, event.start_zone, event.is_all_day, zone),
        "end": _time(event.end, event.end_zone, event.is_all_day, zone),
        "location": event.location or {"displayName": "", "locationType": "default", "uniqueIdType": "unknown"},
        "locations": [event.location] if event.location.get("displayName") else [],
        "recurrence": event.recurrence,
        "attendees": [
            {
                "type": a.type,
                "status": {"response": a.response, "time": a.time},
                "emailAddress": {"name": a.name, "address": a.email},
            }
            for a in event.attendees
        ],
        "organizer": _email(event.organizer_email, event.organizer_name),
        "onlineMeeting": None,
    }
    if event.transaction_id is not None:
        out["transactionId"] = event.transaction_id
    if select:
        wanted = {s.lower() for s in select} | {"id", "@odata.etag"}
        out = {k: v for k, v in out.items() if k.lower() in wanted}
    if expand:
        props = [{"id": event.extended_ids[k], "value": event.extended[k]} for k in expand if k in event.extended]
        if props:
            out["singleValueExtendedProperties"] = props
    return out


def calendar_json(cal: Calendar, owner: Account) -> dict[str, Any]:
    return {
        "id": cal.id,
        "name": cal.name,
        "color": "auto",
        "hexColor": "",
        "isDefaultCalendar": cal.is_default,
        "changeKey": cal.change_key,
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": True,
        "isRemovable": not cal.is_default,
        "isTallyingResponses": True,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "owner": {"name": owner.name, "address": owner.email},
    }


def user_json(account: Account) -> dict[str, Any]:
    first, _, last = account.name.partition(" ")
    return {
        "id": account.id,
        "displayName": account.name,
        "givenName": first,
        "surname": last or None,
        "mail": account.email,
        "userPrincipalName": account.email,
        "businessPhones": [],
        "jobTitle": None,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "en-US",
    }
