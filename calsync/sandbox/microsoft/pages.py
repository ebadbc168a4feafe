"""The Outlook-like calendar page of a sandbox mailbox (``/calendar/microsoft/{email}``).

It shows the mailbox's calendars and events (subject, time in the event's own zone, organizer, the mailbox's
response) and offers only the controls Outlook offers for that kind of item: Accept / Tentative / Decline on an
invitation; Show as and Delete on a meeting the mailbox organizes; Remove from calendar on a cancelled meeting.
Every button posts a plain form that goes through :class:`~calsync.sandbox.microsoft.events.Mailboxes`, so delta
and subscriptions see the change exactly as if it came through Graph.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from calsync.sandbox.microsoft.errors import GraphError
from calsync.sandbox.microsoft.events import SHOW_AS, Mailboxes
from calsync.sandbox.microsoft.markup import e, page
from calsync.sandbox.microsoft.state import Account, Change, Event, MicrosoftState
from calsync.sandbox.microsoft.timezones import resolve

RESPONSE_LABEL = {
    "organizer": "You're the organizer", "accepted": "Accepted", "tentativelyAccepted": "Tentative",
    "declined": "Declined", "notResponded": "Not responded", "none": "Not responded",
}
PAGE_ACTIONS = {"accept": "accept", "tentative": "tentativelyaccept", "decline": "decline"}


def _when(event: Event) -> str:
    zone = resolve(event.start_zone)
    start = event.start.astimezone(zone.tz)
    end = event.end.astimezone(resolve(event.end_zone).tz)
    if event.is_all_day:
        # midnight to midnight, the end exclusive: the last day is the one before the end
        first, last = start.date(), end.date() - dt.timedelta(days=1)
        if last <= first:
            return f"{first:%a %d %b %Y} (all day)"
        return f"{first:%a %d %b} to {last:%a %d %b %Y} (all day, {(last - first).days + 1} days)"
    tail = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%a %d %b %Y %H:%M}"
    return f"{start:%a %d %b %Y %H:%M} - {tail} ({event.start_zone})"


class CalendarPages:
    def __init__(self, state: MicrosoftState, mailboxes: Mailboxes, notify: Callable[[list[Change]], None]) -> None:
        self.state = state
        self.mailboxes = mailboxes
        self.notify = notify

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/{email}", self.show, methods=["GET"]),
            Route("/{email}/events/{event_id}/respond", self.respond, methods=["POST"]),
            Route("/{email}/events/{event_id}/show-as", self.show_as, methods=["POST"]),
            Route("/{email}/events/{event_id}/delete", self.delete, methods=["POST"]),
        ]

    def _account(self, request: Request) -> Account | None:
        return self.state.account_by_email(request.path_params["email"])

    async def show(self, request: Request) -> Response:
        with self.state.lock:
            account = self._account(request)
            if account is None:
                return HTMLResponse(page("Not found", "<h1>No such mailbox</h1><p>Connect the account first.</p>"),
                                    status_code=404)
            body = self._render(account, request.query_params.get("error"))
        return HTMLResponse(page(f"Calendar - {account.email}", body))

    def _render(self, account: Account, error: str | None) -> str:
        base = f"/calendar/microsoft/{e(account.email)}"
        cals = "".join(
            f'<li data-testid="calendar-{e(c.id)}">{e(c.name)}{" (default)" if c.is_default else ""}</li>'
            for c in sorted(account.calendars.values(), key=lambda c: (not c.is_default, c.name.lower()))
        )
        items = []
        events = sorted((ev for ev in account.events.values() if not ev.deleted), key=lambda ev: ev.start)
        for ev in events:
            cal = account.calendars.get(ev.calendar_id)
            action = f"{base}/events/{e(ev.id)}"
            controls = ""
            if ev.is_cancelled:
                controls = (f'<form class=inline method=post action="{action}/delete">'
                            '<button type=submit data-testid="remove-cancelled">Remove from calendar</button></form>')
            elif ev.is_organizer:
                options = "".join(
                    f'<option value="{s}"{" selected" if s == ev.show_as else ""}>{s}</option>'
                    for s in SHOW_AS if s != "unknown"
                )
                controls = (
                    f'<form class=inline method=post action="{action}/show-as">'
                    f'<label for="showas-{e(ev.id)}">Show as</label> '
                    f'<select id="showas-{e(ev.id)}" name=show_as data-testid="show-as">{options}</select> '
                    '<button type=submit data-testid="show-as-save">Save</button></form>'
                    f'<form class=inline method=post action="{action}/delete">'
                    '<button type=submit data-testid="delete-event">Delete</button></form>'
                )
            else:
                controls = "".join(
                    f'<form class=inline method=post action="{action}/respond">'
                    f'<input type=hidden name=action value="{value}">'
                    f'<button type=submit data-testid="rsvp-{value}" aria-pressed="{str(current).lower()}">'
                    f"{label}</button></form>"
                    for value, label, current in (
                        ("accept", "Accept", ev.response == "accepted"),
                        ("tentative", "Tentative", ev.response == "tentativelyAccepted"),
                        ("decline", "Decline", ev.response == "declined"),
                    )
                )
            status = "Canceled" if ev.is_cancelled else RESPONSE_LABEL.get(ev.response, ev.response)
            items.append(
                f'<article class=event id="event-{e(ev.id)}" data-testid="event-{e(ev.id)}">'
                f'<h3 data-testid="event-subject">{e(ev.subject or "(No title)")}</h3>'
                f'<p data-testid="event-when">{e(_when(ev))}</p>'
                f'<p class=muted>Calendar: {e(cal.name if cal else "?")} · Organizer: '
                f'<span data-testid="event-organizer">{e(ev.organizer_name)} &lt;{e(ev.organizer_email)}&gt;</span>'
                f' · Show as: <span data-testid="event-show-as">{e(ev.show_as)}</span></p>'
                f'<p>Your response: <strong data-testid="event-response">{e(status)}</strong></p>'
                f"<div>{controls}</div></article>"
            )
        alert = f'<p class=error role=alert data-testid="page-error">{e(error)}</p>' if error else ""
        return (
            f'<h1>Outlook calendar</h1><p data-testid="mailbox">{e(account.name)} &lt;{e(account.email)}&gt;</p>'
            f'{alert}<h2>Calendars</h2><ul>{cals}</ul><h2>Events</h2>'
            + ("".join(items) or '<p data-testid="no-events">No events.</p>')
        )

    async def _mutate(self, request: Request, fn: Callable[[Account, Event, dict[str, str], list[Change]], None],
                      ) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        changes: list[Change] = []
        target = f"/calendar/microsoft/{request.path_params['email']}"
        try:
            with self.state.lock:
                account = self._account(request)
                if account is None:
                    return HTMLResponse(page("Not found", "<h1>No such mailbox</h1>"), status_code=404)
                event = self.mailboxes.find(account, request.path_params["event_id"])
                fn(account, event, form, changes)
        except GraphError as exc:
            from urllib.parse import quote

            return RedirectResponse(f"{target}?error={quote(exc.message)}", status_code=303)
        self.notify(changes)
        return RedirectResponse(target, status_code=303)

    async def respond(self, request: Request) -> Response:
        def act(account: Account, event: Event, form: dict[str, str], changes: list[Change]) -> None:
            action = PAGE_ACTIONS.get(form.get("action", ""))
            if action is None:
                raise GraphError(400, "ErrorInvalidRequest", "Choose Accept, Tentative or Decline.")
            self.mailboxes.respond(account, event, action, True, changes)

        return await self._mutate(request, act)

    async def show_as(self, request: Request) -> Response:
        def act(account: Account, event: Event, form: dict[str, str], changes: list[Change]) -> None:
            self.mailboxes.update(account, event, {"showAs": form.get("show_as", "")}, None, changes)

        return await self._mutate(request, act)

    async def delete(self, request: Request) -> Response:
        def act(account: Account, event: Event, form: dict[str, str], changes: list[Change]) -> None:
            self.mailboxes.delete(account, event, None, changes)

        return await self._mutate(request, act)
