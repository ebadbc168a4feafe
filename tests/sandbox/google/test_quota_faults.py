"""Quotas (§1.8) and the fault renderer's Google envelopes (§1.6)."""

from __future__ import annotations

from google.auth.transport.requests import Request as GARequest

from .conftest import GoogleKit


def _reason(r: object) -> str:
    return str(r.json()["error"]["errors"][0]["reason"])  # type: ignore[attr-defined]


def test_per_user_quota_sliding_window(g: GoogleKit) -> None:
    """Past the per-user limit requests get 403 userRateLimitExceeded (usageLimits) until the minute slides on."""
    g.google.set_quotas(per_user=3)
    token = g.tokens("alice@example.com")["access_token"]
    for _ in range(3):
        assert g.api("GET", "users/me/calendarList", token).status_code == 200
    r = g.api("GET", "users/me/calendarList", token)
    assert r.status_code == 403 and r.json()["error"]["errors"][0] == {
        "domain": "usageLimits", "reason": "userRateLimitExceeded", "message": "User Rate Limit Exceeded"}
    other = g.tokens("bob@example.com")["access_token"]
    assert g.api("GET", "users/me/calendarList", other).status_code == 200
    g.running.sandbox.clock.advance(61)
    assert g.api("GET", "users/me/calendarList", token).status_code == 200


def test_per_project_quota_403_or_429(g: GoogleKit) -> None:
    """Past the per-project limit any user gets rateLimitExceeded, as 403 by default or 429 when configured."""
    g.google.set_quotas(per_project=2)
    a = g.tokens("alice@example.com")["access_token"]
    b = g.tokens("bob@example.com")["access_token"]
    assert g.api("GET", "users/me/calendarList", a).status_code == 200
    assert g.api("GET", "users/me/calendarList", b).status_code == 200
    r = g.api("GET", "users/me/calendarList", a)
    assert r.status_code == 403 and _reason(r) == "rateLimitExceeded"
    g.google.set_quotas(project_status=429)
    r = g.api("GET", "users/me/calendarList", b)
    assert r.status_code == 429 and _reason(r) == "rateLimitExceeded"


def test_fault_429_has_retry_after_and_usage_limits(g: GoogleKit) -> None:
    """An injected 429 answers rateLimitExceeded (usageLimits) with the Retry-After header."""
    token = g.tokens("alice@example.com")["access_token"]
    g.running.sandbox.faults.google.fail_next(429, retry_after=7, path_contains="/calendar/v3/")
    r = g.api("GET", "users/me/calendarList", token)
    assert r.status_code == 429 and r.headers["retry-after"] == "7"
    assert r.json()["error"]["errors"][0]["domain"] == "usageLimits"


def test_fault_5xx_backend_error(g: GoogleKit) -> None:
    """Injected 500 and 503 answer backendError in Google's envelope; the next request succeeds."""
    token = g.tokens("alice@example.com")["access_token"]
    g.running.sandbox.faults.google.fail_next(500, path_contains="/calendar/v3/")
    g.running.sandbox.faults.google.fail_next(503, path_contains="/calendar/v3/")
    first = g.api("GET", "users/me/calendarList", token)
    second = g.api("GET", "users/me/calendarList", token)
    assert (first.status_code, _reason(first)) == (500, "backendError")
    assert (second.status_code, _reason(second)) == (503, "backendError")
    assert g.api("GET", "users/me/calendarList", token).status_code == 200


def test_token_endpoint_faults_are_retried_by_google_auth(g: GoogleKit) -> None:
    """A 503 from the token endpoint is retried by google-auth, which then refreshes."""
    creds = g.credentials("alice@example.com")
    g.running.sandbox.faults.google.fail_next(503, path_contains="/google/token")
    creds.refresh(GARequest(g.session()))
    assert creds.token and not g.running.sandbox.faults.google.one_shots
