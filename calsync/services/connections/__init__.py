"""Calendar connections: connect Google or Outlook, keep the grant healthy, pick the calendar, disconnect.

The seeds' "Connecting your calendar" and "Calendar disconnected or showing an error", done properly (issue 4).
One module per concept; callers import the operations from this package:

- :mod:`.context`: :class:`CalendarContext`, what every operation needs beyond the database and the clock;
- :mod:`.connect`: the authorization-code flow with PKCE and a one-time state, storing the grant (one active
  connection per person; reconnecting the same account reuses its row);
- :mod:`.read`: the caller's connection, a person's, the organization's;
- :mod:`.manage`: the caller's calendars, the target calendar, what the calendar shows, Resync;
- :mod:`.disconnect`: stop push, revoke where the provider can, delete the tokens, optionally remove entries;
- :mod:`.keys`: re-encrypting every stored token under a new key;
- :mod:`.provider_calls` (private helpers): one provider request with auth failures classified, and a failure in
  plain words.
"""

from __future__ import annotations

from calsync.errors import ProviderAuthError
from calsync.services.connections.connect import (
    STATE_TTL,
    ConnectRefused,
    complete_connect,
    parse_provider,
    start_connect,
)
from calsync.services.connections.context import CalendarContext
from calsync.services.connections.disconnect import DisconnectReport, disconnect
from calsync.services.connections.keys import RotationReport, rotate_keys
from calsync.services.connections.manage import (
    DEDICATED_NAME_SUFFIX,
    list_calendars,
    request_resync,
    set_display,
    set_target,
)
from calsync.services.connections.read import my_connection, organization_connections, person_connection

__all__ = [
    "DEDICATED_NAME_SUFFIX",
    "STATE_TTL",
    "CalendarContext",
    "ConnectRefused",
    "DisconnectReport",
    "ProviderAuthError",
    "RotationReport",
    "complete_connect",
    "disconnect",
    "list_calendars",
    "my_connection",
    "organization_connections",
    "parse_provider",
    "person_connection",
    "request_resync",
    "rotate_keys",
    "set_display",
    "set_target",
    "start_connect",
]
