"""The server-rendered pages a person uses (Jinja2, no front-end build step): sign-in, events with RSVP buttons
and sync badges, event forms for organizers, Profile → Calendar and Password, admin (and sessions), and support's
diagnosis. See docs/pages.md.

``router`` holds every page; ``STATIC_DIR`` is mounted at ``/static`` by the app factory.
"""

from __future__ import annotations

from fastapi import APIRouter

from calsync.web.pages import account, admin, assets, calendar, event_forms, events, password, session, support
from calsync.web.pages.common import STATIC_DIR

router = APIRouter(include_in_schema=False)
# event_forms first: its /events/new must match before events' /events/{event_id}
for _module in (session, password, event_forms, events, calendar, admin, account, support, assets):
    router.include_router(_module.router)

__all__ = ["STATIC_DIR", "router"]
