"""Every failure class of a connection, for both providers, against the sandbox: what the person is told, what is
stored, and that a broken grant is never used again (no hot retry loop) while a passing outage changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from calsync.core.connection import RECONNECT_FIX, ConnectionStatus, Provider
from calsync.store.connections import ConnectionRepository
from calsync.sync.tokens import ConnectionUnusable
from tests.connections.conftest import World

Breaker = Callable[[World, Provider, str], None]


def _revoke(world: World, provider: Provider, email: str) -> None:
    emulator = world.emulator(provider)
    emulator.revoke_grants(email) if provider is Provider.GOOGLE else emulator.revoke(email)


def _password(world: World, provider: Provider, email: str) -> None:
    world.emulator(provider).password_changed(email)


def _expire(world: World, provider: Provider, email: str) -> None:
    world.emulator(provider).expire_refresh_tokens(email)


def _consent(world: World, provider: Provider, email: str) -> None:
    if provider is Provider.GOOGLE:
        pytest.skip("Google has no separate 'consent withdrawn' state: removing access is revoke_grants")
    world.emulator(provider).revoke_consent(email)


AT_REFRESH: dict[str, tuple[Breaker, tuple[str, ...]]] = {
    # what happened at the provider -> words the person must see (either provider's wording)
    "revoked grant": (_revoke, ("revoked", "no longer accepts")),
    "changed password": (_password, ("password", "no longer accepts")),
    "expired refresh token": (_expire, ("expired", "no longer accepts")),
    "missing consent": (_consent, ("Consent",)),
}


def _record(world: World, who: str) -> Any:
    with world.runtime.db.session(write=False) as s:
        return ConnectionRepository(s).active_for_person(world.people[who].id)


def _assert_in_error(world: World, who: str, words: tuple[str, ...], code_part: str | None = None) -> None:
    status = world.status(who)
    assert status["status"] == "error" and status["connected"] is False
    assert any(w.lower() in status["reason"].lower() for w in words), status["reason"]
    assert status["fix"] == RECONNECT_FIX
    assert status["need_full_sync"] is True and status["need_full_sync_reason"].startswith("authorization failed")
    if code_part:
        assert code_part in status["need_full_sync_reason"], status["need_full_sync_reason"]
    record = _record(world, who)
    assert record.due_at is None and record.lease_owner is None  # off the work queue


def _assert_no_more_calls(world: World, provider: Provider, who: str, count: Callable[[Provider], Any]) -> None:
    """Nothing reaches the provider for this connection any more: API requests and the token manager refuse."""
    seen = count(provider)
    browser = world.browser()
    for _ in range(3):
        r = browser.get("/api/v1/me/calendar/calendars", headers=world.h(who))
        assert r.status_code == 409, r.text
        assert RECONNECT_FIX in r.json()["error"]["message"]
    with pytest.raises(ConnectionUnusable):
        world.runtime.tokens.access_token(_record(world, who).id)
    r = browser.post("/api/v1/me/calendar/resync", headers=world.h(who))
    assert r.status_code == 409 and "resync cannot run" in r.json()["error"]["message"]
    assert seen() == 0


@pytest.mark.parametrize("case", list(AT_REFRESH))
def test_grant_failures_seen_at_refresh_put_the_connection_in_error(
    world: World, provider: Provider, case: str, count_provider_requests: Any
) -> None:
    """Revoked grant, changed password, expired refresh token, missing consent: seen when the access token is due
    for refresh, the connection goes to error with a plain reason and the fix, and is never called again."""
    world.connect("ann", provider)
    breaker, words = AT_REFRESH[case]
    breaker(world, provider, "ann@acme.test")
    world.clock.advance(hours=2)  # the stored access token is now past expiry: the next use refreshes first
    r = world.browser().get("/api/v1/me/calendar/calendars", headers=world.h("ann"))
    assert r.status_code == 409, r.text
    message = r.json()["error"]["message"]
    assert any(w.lower() in message.lower() for w in words) and RECONNECT_FIX in message
    assert r.json()["error"]["code"] == "calendar_connection_error"
    _assert_in_error(world, "ann", words, code_part="invalid_grant")
    _assert_no_more_calls(world, provider, "ann", count_provider_requests)


def test_401_after_a_fresh_token_puts_the_connection_in_error(
    world: World, provider: Provider, count_provider_requests: Any
) -> None:
    """A 401 is answered by one refresh and one retry; a 401 again, with a token just issued, is an error."""
    world.connect("ann", provider)
    path = "calendarList" if provider is Provider.GOOGLE else "/me/calendars"
    world.faults(provider).fail_next(401, count=2, path_contains=path)
    r = world.browser().get("/api/v1/me/calendar/calendars", headers=world.h("ann"))
    assert r.status_code == 409, r.text
    assert "even after renewing" in r.json()["error"]["message"]
    _assert_in_error(world, "ann", ("even after renewing",))
    _assert_no_more_calls(world, provider, "ann", count_provider_requests)


def test_a_single_401_is_healed_by_one_refresh(world: World, provider: Provider) -> None:
    """One 401 (a token revoked early, say) costs one refresh and a retry; the person sees their calendars."""
    world.connect("ann", provider)
    before = _record(world, "ann").access_token_enc
    path = "calendarList" if provider is Provider.GOOGLE else "/me/calendars"
    world.faults(provider).fail_next(401, count=1, path_contains=path)
    r = world.browser().get("/api/v1/me/calendar/calendars", headers=world.h("ann"))
    assert r.status_code == 200, r.text and r.json()
    assert world.status("ann")["status"] == "connected"
    assert _record(world, "ann").access_token_enc != before  # the refreshed token was stored


def test_403_missing_scope_puts_the_connection_in_error(
    world: World, provider: Provider, count_provider_requests: Any
) -> None:
    """A 403 saying calsync lacks the calendar permission is an error with the fix, not a retry."""
    world.connect("ann", provider)
    sandbox = world.sandbox.sandbox
    if provider is Provider.GOOGLE:  # the person unticked the calendar scope: Google answers insufficientPermissions
        state = sandbox.google.state
        with state.lock:
            for token in state.access_tokens.values():
                token.scopes = frozenset({"openid"})
    else:
        state = sandbox.microsoft.state
        with state.lock:
            for grant in state.grants.values():
                grant.scopes.clear()
            for token in state.access_tokens.values():
                token.scopes = set()
    r = world.browser().get("/api/v1/me/calendar/calendars", headers=world.h("ann"))
    assert r.status_code == 409, r.text
    assert "permission" in r.json()["error"]["message"].lower() or "refused" in r.json()["error"]["message"]
    _assert_in_error(world, "ann", ("permission", "refused"))
    _assert_no_more_calls(world, provider, "ann", count_provider_requests)


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 429}, id="429"),
        pytest.param({"status": 503}, id="503"),
        pytest.param({"timeout": True}, id="timeout"),
    ],
)
def test_transient_failures_at_refresh_leave_the_connection_connected(
    world: World, provider: Provider, fault: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    """429, 5xx and timeouts at the token endpoint: 503 with Retry-After, still connected, nothing stored changed."""
    world.connect("ann", provider)
    before = _record(world, "ann")
    plan = world.faults(provider)
    token_path = "/google/token" if provider is Provider.GOOGLE else "/oauth2/v2.0/token"
    if "status" in fault:
        plan.fail_next(fault["status"], count=10, path_contains=token_path, retry_after=2)
    else:
        plan.timeout_rate, plan.hang_seconds = 1.0, 0.05  # every request hangs, then the gateway gives up (504)
    world.clock.advance(hours=2)
    r = world.browser().get("/api/v1/me/calendar/calendars", headers=world.h("ann"))
    assert r.status_code == 503, r.text
    assert int(r.headers["retry-after"]) >= 1
    error = r.json()["error"]
    assert error["code"] == "provider_unavailable" and "stays connected" in error["message"]
    status = world.status("ann")
    assert status["status"] == "connected" and status["reason"] is None
    after = _record(world, "ann")
    assert after.access_token_enc == before.access_token_enc and after.refresh_token_enc == before.refresh_token_enc
    assert after.status is ConnectionStatus.CONNECTED and after.error_reason is None
