"""The pure decisions under diagnose, table-driven: how a provider's error code is named, and the event verdicts
the sandbox stories do not reach (Events module off, a cancelled event, an event that is over, a lookup that could
not be made)."""

from __future__ import annotations

import datetime as dt

import pytest

from calsync.core.connection import RECONNECT_FIX, Provider
from calsync.core.model import EventStatus, RsvpStatus
from calsync.services.diagnose import EventFacts, Presence, Verdict, check_event, classify_auth_failure

G, M = Provider.GOOGLE, Provider.MICROSOFT
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)

CODES = [
    # provider, code as stored, HTTP status -> failure kind (provider-facts §2 and §4)
    (G, "invalid_grant", 400, "revoked_expired_or_password_changed"),
    (M, "invalid_grant:50173", None, "revoked_or_password_changed"),
    (M, "invalid_grant:700082", None, "expired"),
    (M, "invalid_grant:70008", None, "expired"),
    (M, "invalid_grant:65001", None, "consent"),
    (M, "interaction_required:50076", None, "sign_in"),
    (G, "no_refresh_token", None, "no_refresh_token"),
    (G, "invalid_client", 401, "client"),
    (M, "unauthorized_client", None, "client"),
    (G, "insufficientPermissions", 403, "permission"),
    (M, "ErrorAccessDenied", 403, "permission"),
    (G, "authError", 401, "token_rejected"),
    (M, "InvalidAuthenticationToken", 401, "token_rejected"),
    (G, None, None, "refused"),
]


@pytest.mark.parametrize(("provider", "code", "status", "kind"), CODES)
def test_auth_failures_are_named_from_the_provider_code(
    provider: Provider, code: str | None, status: int | None, kind: str
) -> None:
    """Each refresh or API refusal is named as the provider reports it; only the client case is the operator's."""
    failure = classify_auth_failure(provider, code, status)
    assert failure.kind == kind
    assert (failure.fix == RECONNECT_FIX) is (kind != "client")


def _facts(**changes: object) -> EventFacts:
    base: dict[str, object] = dict(
        events_enabled=True,
        event_status=EventStatus.SCHEDULED,
        ended=False,
        rsvp=RsvpStatus.ACCEPTED,
        connection=None,
        entry=None,
        presence=Presence(asked=False, why="the connection is not usable"),
    )
    base.update(changes)
    return EventFacts(**base)  # type: ignore[arg-type]


def test_events_module_off_is_a_problem_before_anything_else() -> None:
    """Without the Events module nothing syncs (seeds' feature availability), whatever the RSVP."""
    check = check_event(_facts(events_enabled=False), NOW)
    assert check.verdict is Verdict.PROBLEM and "Events module" in check.finding


def test_cancelled_event_is_not_expected_and_a_leftover_is_mentioned() -> None:
    """A cancelled event is not expected in the calendar; an entry still found there is said to be removed next."""
    gone = check_event(_facts(event_status=EventStatus.CANCELLED), NOW)
    assert gone.verdict is Verdict.OK and "cancelled" in gone.finding and "still there" not in gone.finding
    left = check_event(_facts(event_status=EventStatus.CANCELLED, presence=Presence(asked=True, found=True)), NOW)
    assert "still there" in left.finding


def test_needs_action_is_not_rsvped() -> None:
    """An invitation nobody answered (needs action) is not expected in the calendar."""
    check = check_event(_facts(rsvp=RsvpStatus.NEEDS_ACTION), NOW)
    assert check.verdict is Verdict.OK and "has not RSVP'd" in check.finding
