"""The Google account's calendars: list the writable ones, create calsync's dedicated one (§1.1)."""

from __future__ import annotations

from calsync.providers.base import CalendarInfo
from calsync.providers.google.rest import GoogleRest


class GoogleCalendars:
    """:class:`calsync.providers.base.CalendarDirectoryPort` for Google."""

    def __init__(self, rest: GoogleRest) -> None:
        self.rest = rest

    def list_calendars(self, access_token: str) -> list[CalendarInfo]:
        """calendarList.list followed to the last page; writable means accessRole owner or writer."""
        out: list[CalendarInfo] = []
        page_token: str | None = None
        while True:
            params = {"maxResults": "250", **({"pageToken": page_token} if page_token else {})}
            body = self.rest.call_json("GET", "users/me/calendarList", access_token, params=params)
            for item in body.get("items", []):
                out.append(
                    CalendarInfo(
                        id=str(item["id"]),
                        name=str(item.get("summaryOverride") or item.get("summary") or item["id"]),
                        primary=bool(item.get("primary", False)),
                        writable=item.get("accessRole") in ("owner", "writer"),
                        time_zone=item.get("timeZone"),
                    )
                )
            page_token = body.get("nextPageToken")
            if not page_token:
                return out

    def create_calendar(self, access_token: str, name: str, time_zone: str | None) -> CalendarInfo:
        """calendars.insert: a secondary calendar the person owns. Not idempotent: callers look for it first."""
        body: dict[str, str] = {"summary": name}
        if time_zone:
            body["timeZone"] = time_zone
        item = self.rest.call_json("POST", "calendars", access_token, json=body)
        return CalendarInfo(
            id=str(item["id"]),
            name=str(item.get("summary", name)),
            primary=False,
            writable=True,
            time_zone=item.get("timeZone"),
        )
