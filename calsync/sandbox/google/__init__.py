"""The Google emulator (placeholder until its routes land)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from calsync.sandbox.base import SandboxContext


class GoogleSandbox:
    name = "google"

    def __init__(self, context: SandboxContext) -> None:
        self.context = context

    def routes(self) -> list[BaseRoute]:
        return []

    def admin_routes(self) -> list[BaseRoute]:
        return []

    def page_routes(self) -> list[BaseRoute]:
        return []

    def endpoints(self, base_url: str) -> dict[str, str]:
        return {}

    def account_emails(self) -> list[str]:
        return []

    def reset(self) -> None:
        pass
