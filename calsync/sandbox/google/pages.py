"""The calendar page of a sandbox account (``/calendar/google/{email}``), for the demo and browser tests.

It lists the account's calendars and their upcoming events (title, time in the event's zone, organizer, the
account's response) with the controls Google Calendar shows that person for that kind of entry: Yes / Maybe / No
where the account is an attendee (an invitation or an imported copy), Busy / Free and Delete on an event the
account organizes, and Delete on invitations. Every button posts a plain form that goes through the same state
code as the API (:class:`~calsync.sandbox.google.GoogleSandbox` methods), so sync tokens advance and channels
notify exactly as for an API change.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from calsync.sandbox.google.errors import ApiError
from calsync.sandbox.google.markup import esc, page
from calsync.sandbox.google.times import zone

if TYPE_CHECKING:
    from calsync.sandbox.google import GoogleSandbox

MOUNT = "/calendar/google"
RSVP = (("accepted", "Yes"), ("tentative", "Maybe"), ("declined", "No"))
SHOW_AS = (("opaque", "Busy", "busy"), ("transparent", "Free", "free"))


def when(event: dict[str, Any]) -> str:
    """Human-readable time of an event, in the event's own zone."""
    start, end = event.get("start", {}), event.get("end", {})
    if "date" in start:
        first = dt.date.fromisoformat(start["date"])
        # the end date is exclusive (the day after the last one), as in the API
        last = dt.date.fromisoformat(end["date"]) - dt.timedelta(days=1) if "date" in end else first
        if last <= first:
            return f"{first:%a %d %b %Y} (all day)"
        return f"{first:%a %d %b} to {last:%a %d %b %Y} (all day, {(last - first).days + 1} days)"
    tz_name = start.get("timeZone")
    tz = zone(tz_name) if tz_name else None
    begin = dt.datetime.fromisoformat(start["dateTime"])
    finish = dt.datetime.fromisoformat(end["dateTime"])
    if tz is not None:
        begin, finish = begin.astimezone(tz), finish.astimezone(tz)
    label = tz_name or begin.strftime("UTC%z")
    same_day = begin.date() == finish.date()
    tail = f"{finish:%H:%M}" if same_day else f"{finish:%a %d %b %Y %H:%M}"
    return f"{begin:%a %d %b %Y %H:%M} to {tail} ({label})"


def page_url(email: str) -> str:
    """Path of an account's calendar page (the email stays readable: ``@`` is allowed in a path)."""
    return f"{MOUNT}/{quote(email, safe='@')}"


def _button(email: str, calendar_id: str, event_id: str, action: str, value: str, label: str, testid: str,
            pressed: bool | None = None) -> str:
    aria = f' aria-pressed="{"true" if pressed else "false"}"' if pressed is not None else ""
    return (
        f'<form class=inline method=post action="{page_url(email)}/action">'
        f'<input type=hidden name=calendar_id value="{esc(calendar_id)}">'
        f'<input type=hidden name=event_id value="{esc(event_id)}">'
        f'<input type=hidden name=action value="{esc(action)}">'
        f'<input type=hidden name=value value="{esc(value)}">'
        f'<button type=submit data-testid="{esc(testid)}"{aria}>{esc(label)}</button></form>'
    )


class Pages:
    def __init__(self, google: GoogleSandbox) -> None:
        self.google = google

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/{email}", self.calendar_page, methods=["GET"]),
            Route("/{email}/action", self.action, methods=["POST"]),
        ]

    async def calendar_page(self, request: Request) -> Response:
        email = request.path_params["email"].lower()
        if email not in self.google.account_emails():
            return HTMLResponse(page("Not found", f"<main><h1>No sandbox account {esc(email)}</h1></main>"), 404)
        return HTMLResponse(self._render(email, request.query_params.get("error")))

    def _render(self, email: str, error: str | None) -> str:
        sections = []
        now = self.google.context.clock.now()
        for cal, events in self.google.upcoming(email, now):
            items = "".join(self._event(email, cal["id"], ev) for ev in events) or (
                '<li class=meta data-testid="no-events">No upcoming events.</li>'
            )
            sections.append(
                f'<section data-testid="calendar-{esc(cal["id"])}" aria-labelledby="cal-{esc(cal["id"])}">'
                f'<h2 id="cal-{esc(cal["id"])}">{esc(cal["summary"])}</h2><ul>{items}</ul></section>'
            )
        problem = f'<p class=error role=alert data-testid="page-error">{esc(error)}</p>' if error else ""
        return page(
            f"Calendar of {email}",
            f'<main><h1 data-testid="account-email">Calendar of {esc(email)}</h1>{problem}{"".join(sections)}'
            "</main>",
        )

    def _event(self, email: str, calendar_id: str, ev: dict[str, Any]) -> str:
        ev_id = ev["id"]
        organizer = ev.get("organizer", {})
        mine = [a for a in ev.get("attendees", []) if a.get("self")]
        lines = [
            f'<h3 data-testid="event-title">{esc(ev.get("summary") or "(No title)")}</h3>',
            f'<p class=meta data-testid="event-time">{esc(when(ev))}</p>',
            f'<p class=meta data-testid="event-organizer">Organizer: '
            f'{esc(organizer.get("displayName") or organizer.get("email", ""))}</p>',
        ]
        controls = []
        if organizer.get("self"):
            shown = ev.get("transparency", "opaque")
            lines.append(f'<p class=meta data-testid="event-show-as">Show as: '
                         f'{"Free" if shown == "transparent" else "Busy"}</p>')
            controls += [
                _button(email, calendar_id, ev_id, "transparency", value, label, f"show-as-{tid}", shown == value)
                for value, label, tid in SHOW_AS
            ]
        elif mine:
            answer = mine[0].get("responseStatus", "needsAction")
            lines.append(f'<p class=meta data-testid="event-response">Your response: {esc(answer)}</p>')
            controls.append('<span id="rsvp-' + esc(ev_id) + '">Going?</span>')
            controls += [
                _button(email, calendar_id, ev_id, "rsvp", value, label, f"rsvp-{value}", answer == value)
                for value, label in RSVP
            ]
        controls.append(_button(email, calendar_id, ev_id, "delete", "", "Delete", "event-delete"))
        return (f'<li class=event data-testid="event-{esc(ev_id)}">{"".join(lines)}'
                f'<div role=group aria-label="Actions">{"".join(controls)}</div></li>')

    async def action(self, request: Request) -> Response:
        email = request.path_params["email"].lower()
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode(), keep_blank_values=True).items()}
        calendar_id, event_id = form.get("calendar_id", "primary"), form.get("event_id", "")
        action, value = form.get("action"), form.get("value", "")
        back = page_url(email)
        try:
            if action == "rsvp":
                self.google.respond(email, event_id, value, calendar_id=calendar_id)
            elif action == "transparency":
                self.google.set_transparency(email, event_id, value, calendar_id=calendar_id)
            elif action == "delete":
                self.google.delete_event(email, event_id, calendar_id=calendar_id)
            else:
                raise ValueError(f"unknown action {action!r}")
        except (ApiError, ValueError) as exc:
            message = exc.message if isinstance(exc, ApiError) else str(exc)
            status = exc.status if isinstance(exc, ApiError) else 400
            return HTMLResponse(self._render(email, message), status)
        return RedirectResponse(back, status_code=303)
