"""What a person's calendar should show for one event: the desired entry, its fingerprint and its keys.

``render`` is the "desired" leg of the three-way state (design.md §3): it depends only on the event, the
person's RSVP and their connection, never on what a provider says. An entry exists exactly when the event is
scheduled and the person accepted or answered tentative (issue 5, "Push"). Its fingerprint covers everything a
provider would be told, so a change that does not alter what the calendar shows costs no API call.

Keys are deterministic and stable per installation, connection and event, so a retry, a crash between the
provider's answer and our commit, or a reconnect finds the entry that is already there instead of adding a
second one (peer lessons 2, 3; changing the scheme would orphan entries, so it is versioned: ``cs1``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from enum import Enum

from calsync.core.model import AllDaySpan, Event, EventStatus, RsvpStatus, TimedSpan

KEY_PROPERTY = "calsyncKey"
"""Name of the extended property that carries an entry's key (Google private property, Graph single-value)."""

ATTENDING = frozenset({RsvpStatus.ACCEPTED, RsvpStatus.TENTATIVE})


class Display(str, Enum):
    """What a connection's calendar shows of each event (issue 16, "In control"), chosen per connection.

    People share calendars with colleagues and family, or sync a work event into a personal calendar: some want
    everything, some only the slot. Times, zone and the person's answer are always written (the calendar has to
    block the time and carry the answer); the rest is left out as chosen.
    """

    FULL = "full"
    """Title, description (with the event page's link), place: everything (the default)."""
    TITLE_TIME = "title_time"
    """Title and time only: no description, no place."""
    BUSY = "busy"
    """Busy only: the title "Busy", no description, no place."""

    @property
    def label(self) -> str:
        return DISPLAY_LABELS[self]


DISPLAY_LABELS = {
    Display.FULL: "Full details (title, time, description and place)",
    Display.TITLE_TIME: "Title and time only",
    Display.BUSY: "Busy only (the title “Busy”, no description or place)",
}
BUSY_TITLE = "Busy"


@dataclass(frozen=True, slots=True)
class EntryContent:
    """Provider-neutral content of one calendar entry. Times are wall-clock in ``timezone`` (or dates)."""

    key: str
    title: str
    description: str
    location: str
    timezone: str
    all_day: bool
    start: str
    """ISO wall-clock datetime (``2026-03-08T09:00:00``) or, for all-day entries, the first date."""
    end: str
    """ISO wall-clock end, or for all-day entries the EXCLUSIVE end date (what both providers take)."""
    link: str
    organizer_name: str
    organizer_email: str
    attendee_email: str
    response: RsvpStatus

    def fingerprint(self) -> str:
        """A digest of everything the provider is told; equal fingerprints need no write."""
        canonical = json.dumps(asdict(self), sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What rendering needs beyond the event and the RSVP: who the entry is for and where links point."""

    installation_id: str
    connection_id: int
    attendee_email: str
    organizer_name: str
    organizer_email: str
    event_url: str
    display: Display = Display.FULL
    """What the calendar shows; the fingerprint covers the result, so a change of choice updates every entry."""


def entry_key(installation_id: str, connection_id: int, event_id: int) -> str:
    """The stable key of the entry for (installation, connection, event): ``cs1.<install>.<conn>.<event>``."""
    return f"cs1.{installation_id}.{connection_id}.{event_id}"


def conn_tag(key: str) -> str:
    """``<installation>.<connection>`` from an entry key: one filter value lists a connection's entries."""
    return ".".join(key.split(".")[1:3])


def parse_entry_key(key: str) -> tuple[str, int, int] | None:
    """(installation, connection, event) from a key, or None when it is not one of ours."""
    parts = key.split(".")
    if len(parts) != 4 or parts[0] != "cs1" or not parts[2].isdigit() or not parts[3].isdigit():
        return None
    return parts[1], int(parts[2]), int(parts[3])


def ical_uid(key: str, generation: int) -> str:
    """The RFC 5545 UID calsync gives an entry; ``generation`` grows when an entry is deliberately re-created."""
    return f"{key}.g{generation}@calsync"


def transaction_id(key: str, generation: int) -> str:
    """Graph ``transactionId`` for creating the entry: the same attempt always sends the same id (§3.2)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"calsync:{key}:g{generation}"))


_B32HEX = str.maketrans("ABCDEFGHIJKLMNOPQRSTUV", "abcdefghijklmnopqrstuv")


def google_event_id(key: str, generation: int) -> str:
    """A valid Google event id (base32hex ``a-v0-9``, 5-1024 chars; provider-facts §1.2) derived from the key."""
    digest = hashlib.sha256(f"{key}:g{generation}".encode()).digest()[:20]
    return base64.b32hexencode(digest).decode().rstrip("=").translate(_B32HEX)


def render(event: Event, response: RsvpStatus | None, ctx: RenderContext) -> EntryContent | None:
    """The entry the person's calendar should hold for ``event``, or None when it should hold none."""
    if event.status is not EventStatus.SCHEDULED or response not in ATTENDING:
        return None
    span = event.span
    if isinstance(span, AllDaySpan):
        start, end = span.start_date.isoformat(), span.exclusive_end_date.isoformat()
    else:
        assert isinstance(span, TimedSpan)
        start, end = span.start_local.isoformat(timespec="seconds"), span.end_local.isoformat(timespec="seconds")
    description = event.description.strip()
    footer = f"Event page: {ctx.event_url}"
    title, location = event.title, event.location
    text = f"{description}\n\n{footer}" if description else footer
    if ctx.display is not Display.FULL:
        text, location = "", ""
    if ctx.display is Display.BUSY:
        title = BUSY_TITLE
    return EntryContent(
        key=entry_key(ctx.installation_id, ctx.connection_id, event.id),
        title=title,
        description=text,
        location=location,
        timezone=event.timezone,
        all_day=event.all_day,
        start=start,
        end=end,
        link=ctx.event_url,
        organizer_name=ctx.organizer_name,
        organizer_email=ctx.organizer_email,
        attendee_email=ctx.attendee_email,
        response=response,
    )
