"""The calendar context: what every calendar-connection operation needs beyond the database and the clock.

Built once per process by :func:`calsync.services.runtime.build_runtime` and passed down, like
:class:`~calsync.services.context.ServiceContext` (settings are read at the edge, never here).
"""

from __future__ import annotations

import dataclasses

from calsync.core.connection import Provider
from calsync.crypto import TokenCipher
from calsync.providers.registry import Providers
from calsync.services.context import ServiceContext
from calsync.sync.tokens import TokenManager


@dataclasses.dataclass(frozen=True)
class CalendarContext:
    """What calendar operations need beyond the database and the clock."""

    service: ServiceContext
    cipher: TokenCipher
    providers: Providers
    tokens: TokenManager
    base_url: str

    def redirect_uri(self, provider: Provider) -> str:
        """The one fixed redirect URI per provider: no redirect target is ever taken from a parameter."""
        return f"{self.base_url.rstrip('/')}/oauth/{provider.value}/callback"
