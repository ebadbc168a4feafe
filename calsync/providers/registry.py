"""Builds the adapters for both providers from one :class:`ProviderConfig` and one pooled HTTP client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import httpx

from calsync.core.connection import Provider
from calsync.providers.base import CalendarDirectoryPort, EntriesPort, OAuthPort, PushPort
from calsync.providers.config import ProviderConfig
from calsync.providers.google.calendars import GoogleCalendars
from calsync.providers.google.channels import GoogleChannels
from calsync.providers.google.entries import GoogleEntries
from calsync.providers.google.oauth import GoogleOAuth
from calsync.providers.google.rest import GoogleRest
from calsync.providers.microsoft.calendars import GraphCalendars
from calsync.providers.microsoft.entries import GraphEntries
from calsync.providers.microsoft.oauth import MicrosoftOAuth
from calsync.providers.microsoft.rest import GraphRest
from calsync.providers.microsoft.subscriptions import GraphSubscriptions


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Providers:
    """One per process: the OAuth clients (MSAL's discovery cached inside) and the REST adapters."""

    def __init__(
        self,
        config: ProviderConfig,
        http: httpx.Client | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.config = config
        self.http = http or config.tls.httpx_client()
        self.clock = clock or _utcnow
        """Token and subscription expiries are stamped on this clock (the runtime's)."""
        self.google_rest = GoogleRest(self.http, config.google)
        self.graph_rest = GraphRest(self.http, config.microsoft)
        self._oauth: dict[Provider, OAuthPort] = {
            Provider.GOOGLE: GoogleOAuth(config.google, config.google_client, config.tls, self.clock),
            Provider.MICROSOFT: MicrosoftOAuth(config.microsoft, config.microsoft_client, config.tls, self.clock),
        }

    def oauth(self, provider: Provider) -> OAuthPort:
        return self._oauth[provider]

    def calendars(self, provider: Provider) -> CalendarDirectoryPort:
        if provider is Provider.GOOGLE:
            return GoogleCalendars(self.google_rest)
        return GraphCalendars(self.graph_rest)

    def entries(self, provider: Provider, account_email: str) -> EntriesPort:
        """The entries adapter for one account. ``account_email`` is no longer needed by either adapter (Google's
        answer is read from the ``self`` attendee only, provider-facts §1.2); it stays while callers pass it."""
        del account_email
        if provider is Provider.GOOGLE:
            return GoogleEntries(self.google_rest)
        return GraphEntries(self.graph_rest)

    def push(self, provider: Provider) -> PushPort:
        if provider is Provider.GOOGLE:
            return GoogleChannels(self.google_rest)
        return GraphSubscriptions(self.graph_rest, self.clock)

    def close(self) -> None:
        self.http.close()
