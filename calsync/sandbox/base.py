"""What the sandbox's composition needs from each provider emulator, and what it hands them.

The sandbox is a second, independent reading of ``provider-facts.md``: it imports nothing from calsync's core,
store, providers or web layers (an import contract enforces it), so a misunderstanding of the providers shows up
as a failing test instead of hiding in both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from starlette.routing import BaseRoute

from calsync.sandbox.clock import Clock
from calsync.sandbox.delivery import Notifier
from calsync.sandbox.faults import Faults


@dataclass
class SandboxContext:
    """Shared services every provider emulator uses."""

    clock: Clock
    faults: Faults
    notifier: Notifier
    auto_consent: bool = False
    allow_http_loopback_notifications: bool = True


class ProviderSandbox(Protocol):
    """One provider's emulator (Google, or Microsoft), as the composition in :mod:`calsync.sandbox.app` uses it."""

    name: str

    def routes(self) -> list[BaseRoute]:
        """Its public API and OAuth routes, at their own paths, already wrapped in FaultMiddleware."""
        ...

    def admin_routes(self) -> list[BaseRoute]:
        """Admin routes (revoke a grant, expire tokens, ...), mounted under ``/admin/{name}``."""
        ...

    def page_routes(self) -> list[BaseRoute]:
        """The calendar pages a person uses, mounted under ``/calendar/{name}``."""
        ...

    def endpoints(self, base_url: str) -> dict[str, str]:
        """This provider's part of the endpoint map (see docs/sandbox.md)."""
        ...

    def account_emails(self) -> list[str]:
        """Email addresses of the accounts that exist, for the index page."""
        ...

    def reset(self) -> None:
        """Forget every account, grant, calendar, event, channel and token."""
        ...
