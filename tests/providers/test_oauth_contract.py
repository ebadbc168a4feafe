"""The OAuth port, one suite for both providers, over HTTPS against the sandbox with the providers' own libraries."""

from __future__ import annotations

import pytest

from calsync.errors import ProviderAuthError, ProviderError
from tests.providers.conftest import ProviderEnv, redirect_uri


def test_connect_returns_tokens_and_the_account(env: ProviderEnv) -> None:
    """The code exchange yields an access token, a refresh token and the account's email."""
    grant = env.connect("ann@example.com")
    assert grant.account_email == "ann@example.com"
    assert grant.tokens.access_token and grant.tokens.refresh_token
    assert "tokens=<redacted>" in repr(grant) and grant.tokens.access_token not in repr(grant)


def test_refresh_gives_a_new_access_token_and_keeps_a_refresh_token(env: ProviderEnv) -> None:
    """Refresh works against the sandbox token endpoint; a refresh token is always kept (Google) or rotated (MS)."""
    grant = env.connect("ann@example.com")
    fresh = env.providers.oauth(env.provider).refresh(grant.tokens)
    assert fresh.access_token != grant.tokens.access_token
    assert fresh.refresh_token
    again = env.providers.oauth(env.provider).refresh(fresh)
    assert again.access_token


def test_wrong_verifier_is_refused(env: ProviderEnv) -> None:
    """A code exchanged with another flow's PKCE verifier is refused, not accepted."""
    code, state, _ = env.authorize("ann@example.com", state="s1")
    _, _, other_secret = env.authorize("ann@example.com", state="s2")
    with pytest.raises(ProviderError):
        env.providers.oauth(env.provider).finish(
            code=code, state=state, flow_secret=other_secret, redirect_uri=redirect_uri(env.provider)
        )


def test_code_exchanged_twice_is_refused(env: ProviderEnv) -> None:
    """A code is one-time at the provider too."""
    code, state, secret = env.authorize("ann@example.com")
    oauth = env.providers.oauth(env.provider)
    oauth.finish(code=code, state=state, flow_secret=secret, redirect_uri=redirect_uri(env.provider))
    with pytest.raises(ProviderAuthError):
        oauth.finish(code=code, state=state, flow_secret=secret, redirect_uri=redirect_uri(env.provider))


def test_revoked_grant_is_seen_at_refresh_with_a_plain_reason(env: ProviderEnv) -> None:
    """After the grant is revoked at the provider, refresh fails as an auth error whose reason a person reads."""
    grant = env.connect("ann@example.com")
    env.emulator.revoke("ann@example.com") if env.provider.value == "microsoft" else env.emulator.revoke_grants(
        "ann@example.com"
    )
    with pytest.raises(ProviderAuthError) as info:
        env.providers.oauth(env.provider).refresh(grant.tokens)
    assert "revoked" in info.value.reason.lower() or "no longer accepts" in info.value.reason.lower()


def test_password_change_is_seen_at_refresh(env: ProviderEnv) -> None:
    """'You changed your password' (seeds) ends in an auth error at the next refresh."""
    grant = env.connect("bob@example.com")
    env.emulator.password_changed("bob@example.com")
    with pytest.raises(ProviderAuthError) as info:
        env.providers.oauth(env.provider).refresh(grant.tokens)
    assert info.value.reason


def test_expired_refresh_token_is_seen_at_refresh(env: ProviderEnv) -> None:
    """An expired refresh token (inactivity) is an auth error, not a retry."""
    grant = env.connect("cy@example.com")
    env.emulator.expire_refresh_tokens("cy@example.com")
    with pytest.raises(ProviderAuthError):
        env.providers.oauth(env.provider).refresh(grant.tokens)
