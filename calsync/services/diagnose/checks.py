"""The connection checks of the internal note's list as pure decisions over stored facts: the record, the
full-resync flag, the token refresh outcome, the periodic pull, push channels, workers and recent errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence

from calsync.core.connection import RECONNECT_FIX, ConnectionStatus, Provider
from calsync.services.diagnose.model import (
    CONNECT_FIX,
    ERROR_WINDOW,
    GRACE,
    WORKER_STEP,
    Check,
    DiagnoseOptions,
    FactValue,
    Verdict,
    iso,
    when,
)
from calsync.store.connections import ConnectionRecord, LogLine

# ---- pure decisions: the connection ------------------------------------------------------------------------


def check_events_module(enabled: bool, organization: str) -> Check:
    if enabled:
        return Check("events_module", "Events module", Verdict.OK, f"{organization} has the Events module on.")
    return Check(
        "events_module",
        "Events module",
        Verdict.PROBLEM,
        f"{organization} has the Events module off: calendar sync requires it, so nothing syncs.",
        "An administrator of the organization must switch the Events module on.",
        {"events_module": False},
    )


def check_connection(record: ConnectionRecord | None, now: dt.datetime) -> Check:
    title = "Calendar connection"
    if record is None:
        return Check(
            "connection", title, Verdict.PROBLEM, "Not connected: no calendar was ever connected.", CONNECT_FIX
        )
    facts: dict[str, FactValue] = {
        "connection_id": record.id,
        "provider": record.provider.value,
        "account": record.account_email,
        "status": record.status.value,
        "connected_at": iso(record.connected_at),
        "target_calendar": record.target_calendar_name,
    }
    label = f"{record.provider.label} ({record.account_email})"
    if record.status is ConnectionStatus.DISCONNECTED:
        facts["disconnected_at"] = iso(record.disconnected_at)
        return Check(
            "connection",
            title,
            Verdict.PROBLEM,
            f"Not connected: {label} was disconnected {when(record.disconnected_at, now)}.",
            CONNECT_FIX,
            facts,
        )
    if record.status is ConnectionStatus.ERROR:
        facts["error_since"] = iso(record.last_error_at)
        reason = (record.error_reason or "The connection stopped working.").replace(RECONNECT_FIX, "").strip()
        return Check(
            "connection",
            title,
            Verdict.PROBLEM,
            f"{label} is in error since {when(record.last_error_at, now)}: {reason} Nothing syncs until then.",
            RECONNECT_FIX,
            facts,
        )
    target = record.target_calendar_name or "its main calendar"
    return Check(
        "connection",
        title,
        Verdict.OK,
        f"{label} connected {when(record.connected_at, now)}; events go to the calendar “{target}”.",
        facts=facts,
    )


def check_full_sync(record: ConnectionRecord, last_full_at: dt.datetime | None, now: dt.datetime) -> Check:
    """The seeds' ``needFullSync``: set on connect, on Resync, on a new target calendar, and by auth errors."""
    title = "Full resync flag (need_full_sync)"
    facts: dict[str, FactValue] = {
        "need_full_sync": record.need_full_sync,
        "reason": record.need_full_sync_reason,
        "last_full_reconcile_at": iso(last_full_at),
    }
    last = f"The last full reconcile ran {when(last_full_at, now)}."
    if not record.need_full_sync:
        return Check("full_sync", title, Verdict.OK, f"Not set. {last}", facts=facts)
    reason = record.need_full_sync_reason or "no reason recorded"
    if record.status is not ConnectionStatus.CONNECTED:
        return Check(
            "full_sync",
            title,
            Verdict.PROBLEM,
            f"Set ({reason}); it runs once the person reconnects, not before. {last}",
            RECONNECT_FIX,
            facts,
        )
    return Check(
        "full_sync",
        title,
        Verdict.WARNING,
        f"Set ({reason}): a full reconcile runs on the next round. {last}",
        "Nothing to do; it runs within seconds while the workers run (see workers).",
        facts,
    )


@dataclasses.dataclass(frozen=True)
class AuthFailure:
    kind: str
    words: str
    fix: str


OPERATOR_FIX = (
    "Not the person's doing: an operator must check calsync's OAuth client id and secret "
    "(CALSYNC_GOOGLE_CLIENT_* / CALSYNC_MICROSOFT_CLIENT_*)."
)


def classify_auth_failure(provider: Provider, code: str | None, status: int | None) -> AuthFailure:
    """Name what happened to a grant from the provider's error code.

    Microsoft's AADSTS codes say which (provider-facts §4): 50173 revoked, which is also what a password change or
    reset gives; 700082/70008 expired; 65001 consent missing; 50076/50078 multi-factor sign-in needed. Google
    answers every one of revoked, 6 months unused, password change and Testing-app expiry with the same
    ``invalid_grant`` "Token has been expired or revoked." (§2), so for Google the verdict names them together.
    """
    c = (code or "").lower()
    numbers = set(re.findall(r"\d+", c))
    if "invalid_client" in c or "unauthorized_client" in c:
        return AuthFailure("client", "the provider refused calsync's own client registration", OPERATOR_FIX)
    if "65001" in numbers or "consent" in c:
        return AuthFailure("consent", "consent for calsync was withdrawn in the account", RECONNECT_FIX)
    if numbers & {"700082", "70008"}:
        return AuthFailure("expired", "the authorization expired (unused too long)", RECONNECT_FIX)
    if "50173" in numbers:
        return AuthFailure(
            "revoked_or_password_changed", "the access was revoked or the password was changed or reset", RECONNECT_FIX
        )
    if numbers & {"50076", "50078"} or "interaction_required" in c:
        return AuthFailure("sign_in", "the provider needs the person to sign in again (multi-factor)", RECONNECT_FIX)
    if "no_refresh_token" in c:
        return AuthFailure("no_refresh_token", "calsync holds no refresh token for this account", RECONNECT_FIX)
    if "invalid_grant" in c:
        return AuthFailure(
            "revoked_expired_or_password_changed",
            "the access was revoked, the authorization expired, or the password changed"
            + (" (Google does not say which)" if provider is Provider.GOOGLE else ""),
            RECONNECT_FIX,
        )
    if status == 403 or any(s in c for s in ("insufficient", "accessdenied", "access_denied", "requestdenied")):
        return AuthFailure(
            "permission", "calsync lacks permission to the calendar (a scope was not granted)", RECONNECT_FIX
        )
    if status == 401 or "authentication" in c or "autherror" in c:
        return AuthFailure(
            "token_rejected", "the provider rejected calsync's access even after renewing it", RECONNECT_FIX
        )
    return AuthFailure("refused", "the provider refused calsync's access", RECONNECT_FIX)


@dataclasses.dataclass(frozen=True)
class TokenOutcome:
    """What trying a refresh gave. ``kind``: refreshed | refused | unreachable | failed | in_error."""

    kind: str
    code: str | None = None
    status: int | None = None
    message: str | None = None
    """calsync's own words or the provider's error text; never a token (adapters never put one in a message)."""
    expires_at: dt.datetime | None = None


def check_token(provider: Provider, outcome: TokenOutcome, now: dt.datetime) -> Check:
    title = "Token refresh"
    facts: dict[str, FactValue] = {"outcome": outcome.kind, "code": outcome.code, "status": outcome.status}
    if outcome.kind == "refreshed":
        facts["access_token_expires_at"] = iso(outcome.expires_at)
        return Check(
            "token",
            title,
            Verdict.OK,
            f"Refreshed at {provider.label} just now; the new access token is valid until "
            f"{when(outcome.expires_at, now)}.",
            facts=facts,
        )
    if outcome.kind == "unreachable":
        return Check(
            "token",
            title,
            Verdict.WARNING,
            f"Could not tell: {provider.label} did not answer the refresh ({outcome.message}). Nothing was changed.",
            "Run diagnose again in a few minutes; calsync retries on its own meanwhile.",
            facts,
        )
    if outcome.kind == "failed":
        return Check(
            "token",
            title,
            Verdict.PROBLEM,
            f"The refresh failed: {outcome.message}.",
            "Run diagnose again; if it keeps failing, the operator should read the logs for this connection.",
            facts,
        )
    failure = classify_auth_failure(provider, outcome.code, outcome.status)
    facts["failure"] = failure.kind
    if outcome.kind == "in_error":
        finding = (
            f"Not tried: the connection is in error because {failure.words} ({outcome.code or 'no code'}); "
            "calsync sends nothing for it until the person reconnects."
        )
    else:
        finding = (
            f"{provider.label} refused the refresh: {failure.words} ({outcome.code or outcome.status or 'refused'}). "
            "The connection is now in error and need_full_sync is set."
        )
    return Check("token", title, Verdict.PROBLEM, finding, failure.fix, facts)


# ---- pure decisions: the pull, push and workers --------------------------------------------------------------


def check_pull(record: ConnectionRecord, now: dt.datetime, options: DiagnoseOptions) -> Check:
    """The periodic pull (the seeds' ``CalendarWebhooks`` cron): polling every ``poll_interval`` is the backstop
    for dropped push notifications (design §3), so a stale poll means calendar-side changes are not arriving."""
    title = "Periodic pull"
    poll = dt.timedelta(seconds=options.poll_interval)
    facts: dict[str, FactValue] = {
        "last_success_at": iso(record.last_success_at),
        "last_attempt_at": iso(record.last_attempt_at),
        "next_poll_at": iso(record.next_poll_at),
        "due_at": iso(record.due_at),
        "leased_by": record.lease_owner,
        "failed_rounds": record.attempts,
        "poll_interval_s": int(options.poll_interval),
    }
    base = f"Last successful round {when(record.last_success_at, now)}; next poll {when(record.next_poll_at, now)}."
    if record.attempts:
        return Check(
            "pull",
            title,
            Verdict.WARNING,
            f"Backing off after {record.attempts} failed round(s): {record.error_detail or 'no detail'}. "
            f"Next try {when(record.due_at, now)}. {base}",
            "Usually the provider throttling or down: calsync retries on its own. If it persists, see recent errors.",
            facts,
        )
    leased = record.lease_until is not None and record.lease_until > now
    if record.due_at is not None and record.due_at < now - GRACE and not leased:
        return Check(
            "pull",
            title,
            Verdict.WARNING,
            f"Due {when(record.due_at, now)} and no worker has picked it up. {base}",
            WORKER_STEP,
            facts,
        )
    if record.last_success_at is None:
        return Check(
            "pull",
            title,
            Verdict.WARNING,
            "No successful round yet (the first one runs right after connecting).",
            "Wait a moment; if it stays so, check the workers.",
            facts,
        )
    if record.next_poll_at is not None and record.next_poll_at < now - GRACE:
        return Check(
            "pull",
            title,
            Verdict.WARNING,
            f"The periodic pull is overdue: {base} Changes made in the calendar are not being picked up.",
            WORKER_STEP,
            facts,
        )
    if record.last_success_at < now - 2 * poll - GRACE:
        return Check("pull", title, Verdict.WARNING, f"No successful round for a while. {base}", WORKER_STEP, facts)
    return Check("pull", title, Verdict.OK, base, facts=facts)


def check_push(record: ConnectionRecord, now: dt.datetime, options: DiagnoseOptions) -> Check:
    """Google watch channels (§1.5) and Graph subscriptions (§3.6) lapse and must be renewed; without one, answers
    made in the calendar wait for the poll."""
    title = "Push notifications"
    facts: dict[str, FactValue] = {
        "push_enabled": options.push_enabled,
        "channel_id": record.channel_id,
        "channel_expires_at": iso(record.channel_expires_at),
    }
    every = f"every {options.poll_interval:.0f} s"
    if not options.push_enabled:
        return Check(
            "push",
            title,
            Verdict.OK,
            "Off for this installation (CALSYNC_PUSH_NOTIFICATIONS): changes from the calendar arrive by polling "
            f"{every}.",
            facts=facts,
        )
    kind = "watch channel" if record.provider is Provider.GOOGLE else "subscription"
    step = (
        f"calsync opens it on the connection's next round; if it stays missing, check that {provider_reach(options)} "
        "is reachable from the provider and that the workers run."
    )
    if not record.channel_id or record.channel_expires_at is None:
        return Check(
            "push",
            title,
            Verdict.WARNING,
            f"No {kind} is open: changes made in the calendar arrive only with the poll ({every}).",
            step,
            facts,
        )
    if record.channel_expires_at <= now:
        return Check(
            "push",
            title,
            Verdict.WARNING,
            f"The {kind} {record.channel_id} expired {when(record.channel_expires_at, now)} and was not renewed: "
            f"changes made in the calendar arrive only with the poll ({every}).",
            step,
            facts,
        )
    return Check(
        "push",
        title,
        Verdict.OK,
        f"The {kind} {record.channel_id} is open until {when(record.channel_expires_at, now)}.",
        facts=facts,
    )


def provider_reach(options: DiagnoseOptions) -> str:
    return f"{options.webhook_base_url or 'the webhook URL'}/webhooks/…"


def check_workers(live: int, last_heartbeat: dt.datetime | None, now: dt.datetime, options: DiagnoseOptions) -> Check:
    """A worker beats every third of its lease (sync/worker.py); none within two leases means none is running."""
    within = 2 * options.lease_seconds
    facts: dict[str, FactValue] = {"alive": live, "last_heartbeat_at": iso(last_heartbeat), "within_s": int(within)}
    if live:
        return Check(
            "workers",
            "Sync workers",
            Verdict.OK,
            f"{live} worker(s) alive (heartbeat within {within:.0f} s).",
            facts=facts,
        )
    return Check(
        "workers",
        "Sync workers",
        Verdict.PROBLEM,
        "No sync worker is running ("
        + (f"last heartbeat {when(last_heartbeat, now)}" if last_heartbeat else "none has ever reported")
        + "): nothing is written to calendars and nothing is pulled back.",
        WORKER_STEP,
        facts,
    )


def check_recent_errors(lines: Sequence[LogLine], now: dt.datetime) -> Check:
    recent = [line for line in lines if line.level == "error" and line.at >= now - ERROR_WINDOW]
    facts: dict[str, FactValue] = {"errors_24h": len(recent)}
    if not recent:
        return Check("recent_errors", "Recent errors", Verdict.OK, "No errors in the last 24 hours.", facts=facts)
    shown = "; ".join(f"{when(line.at, now)}: {line.message}" for line in recent[:3])
    return Check(
        "recent_errors",
        "Recent errors",
        Verdict.WARNING,
        f"{len(recent)} error(s) in the last 24 hours, latest first: {shown}",
        "Transient ones (throttling, outages) heal by themselves; a repeated one names what to fix.",
        facts,
    )
