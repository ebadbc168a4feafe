"""Calendar API quotas (provider-facts §1.8): 600 requests/min per user per project (sliding window) and
10,000/min per project, answered with ``usageLimits`` errors that googleapiclient retries.

Only admitted requests count against the windows (a refused request does not extend the ban). The limits and the
status of the per-project refusal (403 or 429: Google documents both) are settable, so benchmarks can run
close to them.
"""

from __future__ import annotations

import threading
from collections import deque

from calsync.sandbox.clock import Clock
from calsync.sandbox.google.errors import ApiError

WINDOW_SECONDS = 60.0


class Quotas:
    """Sliding one-minute windows per (account, client) and per client."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.per_user = 600
        self.per_project = 10_000
        self.project_status = 403
        self._lock = threading.Lock()
        self._users: dict[tuple[str, str], deque[float]] = {}
        self._projects: dict[str, deque[float]] = {}

    def configure(
        self, *, per_user: int | None = None, per_project: int | None = None, project_status: int | None = None
    ) -> None:
        """Change the limits (requests per minute); ``project_status`` is 403 or 429."""
        if (per_user is not None and per_user < 1) or (per_project is not None and per_project < 1):
            raise ValueError("quota limits must be at least 1 request per minute")
        if project_status is not None and project_status not in (403, 429):
            raise ValueError("project_status must be 403 or 429 (Google answers rateLimitExceeded with either)")
        with self._lock:
            if per_user is not None:
                self.per_user = per_user
            if per_project is not None:
                self.per_project = per_project
            if project_status is not None:
                self.project_status = project_status

    def reset(self) -> None:
        with self._lock:
            self.per_user, self.per_project, self.project_status = 600, 10_000, 403
            self._users.clear()
            self._projects.clear()

    def as_dict(self) -> dict[str, int]:
        return {"per_user": self.per_user, "per_project": self.per_project, "project_status": self.project_status}

    def admit(self, account: str, client_id: str) -> None:
        """Count one request, or raise the usageLimits error that refuses it."""
        now = self.clock.monotonic()
        floor = now - WINDOW_SECONDS
        with self._lock:
            user = self._users.setdefault((account, client_id), deque())
            while user and user[0] <= floor:
                user.popleft()
            project = self._projects.setdefault(client_id, deque())
            while project and project[0] <= floor:
                project.popleft()
            if len(user) >= self.per_user:
                raise ApiError(403, "userRateLimitExceeded", "User Rate Limit Exceeded", domain="usageLimits")
            if len(project) >= self.per_project:
                raise ApiError(self.project_status, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits")
            user.append(now)
            project.append(now)
