"""The Microsoft mailbox's calendars: list the editable ones, create calsync's dedicated one (§3.1)."""

from __future__ import annotations

from calsync.errors import ProviderConflict
from calsync.providers.base import CalendarInfo
from calsync.providers.microsoft.rest import GraphRest


class GraphCalendars:
    """:class:`calsync.providers.base.CalendarDirectoryPort` for Microsoft."""

    def __init__(self, rest: GraphRest) -> None:
        self.rest = rest

    def list_calendars(self, access_token: str) -> list[CalendarInfo]:
        """GET /me/calendars followed through every ``@odata.nextLink``."""
        out: list[CalendarInfo] = []
        url: str | None = "/me/calendars"
        while url:
            body = self.rest.call_json("GET", url, access_token)
            for item in body.get("value", []):
                out.append(
                    CalendarInfo(
                        id=str(item["id"]),
                        name=str(item.get("name") or item["id"]),
                        primary=bool(item.get("isDefaultCalendar", False)),
                        writable=bool(item.get("canEdit", True)),
                    )
                )
            url = body.get("@odata.nextLink")
        return out

    def create_calendar(self, access_token: str, name: str, time_zone: str | None) -> CalendarInfo:
        """POST /me/calendars; a name already taken (409) means it exists, so it is looked up and returned."""
        try:
            item = self.rest.call_json("POST", "/me/calendars", access_token, json={"name": name})
        except ProviderConflict:
            for cal in self.list_calendars(access_token):
                if cal.name == name:
                    return cal
            raise
        return CalendarInfo(id=str(item["id"]), name=str(item.get("name", name)), primary=False, writable=True)
