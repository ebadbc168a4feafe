"""The one exception tree of calsync.

Every failure calsync raises on purpose is a :class:`CalsyncError`. Adapters map what they see (HTTP statuses,
provider error bodies, database integrity errors) onto this tree at their boundary, so the layers above never
look at a status code. The web layer turns each class into one HTTP status; the CLI into one exit code and one
line; the worker loop decides from the class whether to retry.

::

    CalsyncError
    ├── InvalidInput              bad input from a person or a client: HTTP 400/422, CLI exit 2
    ├── NotAuthenticated          no or wrong credentials: HTTP 401
    ├── TooManyAttempts           the sign-in limiter refused without checking (``retry_after`` seconds): HTTP 429
    ├── PermissionDenied          authenticated, but not allowed: HTTP 403
    │   └── FeatureDisabled       the organization's Events module is off: HTTP 403
    ├── NotFound                  no such thing (or not visible to the caller): HTTP 404
    ├── Conflict                  the request clashes with stored state: HTTP 409
    ├── ConfigurationError        settings are missing or contradictory: refuse to start
    └── ProviderError             a calendar provider said no (raised by providers/*)
        ├── ProviderTransient     429 / 5xx / timeout: retry later with backoff (``retry_after`` seconds)
        ├── ProviderAuthError     invalid_grant, revoked, 401 after refresh, missing scope: stop, ask to reconnect
        ├── ProviderGone          404 / 410 on an entry: treat as deleted (success for a delete)
        ├── ProviderSyncReset     sync token / delta link no longer valid: full sync needed
        ├── ProviderConflict      409 (the id exists: adopt it) / 412 (etag moved on: re-read, re-plan)
        └── ProviderPermanent     a request the provider will never accept: record, surface, do not loop
            └── ProviderUnreadable    an answer lacking a field calsync needs, or not JSON: safe message, no loop
"""

from __future__ import annotations


class CalsyncError(Exception):
    """Base of every deliberate calsync failure. ``message`` is safe to show to the person who caused it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(CalsyncError):
    """The input cannot be accepted; ``field`` names what to fix when one field is at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotAuthenticated(CalsyncError):
    """No credentials, or credentials that match nobody."""


class TooManyAttempts(CalsyncError):
    """Too many failed sign-ins for this email (or from this address) lately; nothing was checked."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermissionDenied(CalsyncError):
    """The caller is known but may not do this."""


class FeatureDisabled(PermissionDenied):
    """The organization has not switched on the module this feature needs (calendar sync needs Events)."""


class NotFound(CalsyncError):
    """No such object, or one the caller may not see (we do not reveal which)."""


class Conflict(CalsyncError):
    """The request contradicts what is stored (e.g. answering a cancelled event)."""


class ConfigurationError(CalsyncError):
    """Settings are missing or contradict each other; the process should not start."""


class ProviderError(CalsyncError):
    """A calendar provider refused or failed a request. ``provider`` is ``google`` or ``microsoft``."""

    def __init__(self, message: str, *, provider: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.code = code


class ProviderTransient(ProviderError):
    """Worth retrying later: throttled (429, 403 rate limits), server errors, timeouts."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, code=code)
        self.retry_after = retry_after


class ProviderAuthError(ProviderError):
    """The grant is unusable until the person reconnects. ``reason`` is plain words for them."""

    def __init__(
        self, message: str, *, provider: str, reason: str, status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(message, provider=provider, status=status, code=code)
        self.reason = reason


class ProviderGone(ProviderError):
    """The entry no longer exists at the provider (404 / 410)."""


class ProviderSyncReset(ProviderError):
    """The incremental-sync cursor was rejected (Google 410 fullSyncRequired, Graph 410 / syncStateNotFound)."""


class ProviderConflict(ProviderError):
    """The write clashed with what the provider holds: an id already taken (409) or a stale etag (412)."""


class ProviderPermanent(ProviderError):
    """The provider will never accept this request as sent (400 / 403 for reasons other than auth or quota)."""


class ProviderUnreadable(ProviderPermanent):
    """The provider answered without a field calsync needs, or with something that is not JSON. The message is
    calsync's own words (never the provider's body), safe to show to a person."""
