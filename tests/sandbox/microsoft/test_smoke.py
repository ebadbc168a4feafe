"""Smoke: the Microsoft emulator answers discovery, issues tokens and serves /me."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from calsync.sandbox.server import RunningSandbox


def test_me_with_token(sandbox: RunningSandbox, graph_for: Callable[..., httpx.Client]) -> None:
    """A token from the real authorize/token endpoints reads /me for the signed-in account."""
    g = graph_for("alice@example.com")
    r = g.get("/me")
    assert r.status_code == 200, r.text
    assert r.json()["userPrincipalName"] == "alice@example.com"
