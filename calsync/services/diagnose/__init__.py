"""Support's one command: "why is this event not in my calendar?" (`calsync diagnose`, issue 6).

The seeds' internal note is a checklist support staff walk by hand: (1) is there a connected calendar record,
(2) is ``needFullSync`` set (it is, after 401/403/expired tokens), (3) does the provider's OAuth token still work
("expired or revoked tokens prevent sync"), (4) is the job that pulls changes from the calendars running. This
module walks it for one person, optionally one event, and gives every item a :class:`Verdict` and the next step
in plain words. The decisions are pure functions over facts read in one unit of work (table-tested); only two
things touch a provider, both on purpose: the token check really refreshes (a stored token proves nothing, the
refresh endpoint is the only authority on a revoked grant, provider-facts §2 and §4), and the event check asks the
provider whether the entry is there now (by its key, the same lookup the engine trusts after a lost create).

Checks and their verdicts (ok / warning / problem); a check that cannot apply (no connection) is left out:

=================  ==========================================================================================
check              verdicts
=================  ==========================================================================================
events_module      ok · problem: the organization's Events module is off, nothing syncs (seeds' availability)
connection         ok · problem: never connected / disconnected (when) / in error (reason + reconnect)
full_sync          ok · warning: ``need_full_sync`` set, why, runs on the next round · problem: set by an
                   authorization failure, waits for the person to reconnect
token              ok: refreshed now · warning: the provider could not be reached · problem: refused, classified
                   (revoked / expired / password changed / consent / sign-in / permission / operator's client)
pull               ok · warning: no successful round yet, poll overdue, waiting for a worker, backing off
push               ok · warning: channel missing or expired (changes from the calendar wait for the poll)
workers            ok · problem: no worker heartbeat within 2 x lease (nothing syncs)
recent_errors      ok · warning: error lines in the connection log in the last 24 hours
rsvp               ok (the facts: status, source, when)
event              ok: in the calendar, or not expected (no RSVP / declined / cancelled) · warning: syncing,
                   deleted by the person (tombstone: Resync), in another calendar (named) · problem: the last
                   attempt failed, or calsync wrote it and it is gone
=================  ==========================================================================================

Modules: :mod:`.model` (verdicts, checks, the diagnosis), :mod:`.checks` (the connection's checks), :mod:`.event`
(one event), :mod:`.run` (reading the facts, the refresh, asking the provider: :func:`diagnose`), :mod:`.overview`
(``calsync status`` and ``calsync resync``).
"""

from calsync.services.diagnose.checks import AuthFailure, TokenOutcome, classify_auth_failure
from calsync.services.diagnose.event import EventFacts, Presence, check_event
from calsync.services.diagnose.model import Check, DiagnoseOptions, Diagnosis, Verdict
from calsync.services.diagnose.overview import (
    InstallationStatus,
    ResyncRequest,
    installation_status,
    request_one,
    resync_targets,
)
from calsync.services.diagnose.run import diagnose, find_person_id

__all__ = [
    "AuthFailure",
    "Check",
    "DiagnoseOptions",
    "Diagnosis",
    "EventFacts",
    "InstallationStatus",
    "Presence",
    "ResyncRequest",
    "TokenOutcome",
    "Verdict",
    "check_event",
    "classify_auth_failure",
    "diagnose",
    "find_person_id",
    "installation_status",
    "request_one",
    "resync_targets",
]
