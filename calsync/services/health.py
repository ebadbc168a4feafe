"""Is this calsync ready to serve? And the installation-wide gauges Prometheus reads (``calsync.metrics``).

Readiness (``/readyz``) means: the database answers, its schema is at the newest migration this code ships (an
older schema means ``calsync db upgrade`` has not run; a newer one means this process is older than the
database), and, when workers are expected, some worker beat within two lease lengths. Each check says why it
failed, so a load balancer's log or an operator's ``curl`` tells what to fix.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from calsync.metrics import InstallationSnapshot
from calsync.store import health
from calsync.store.db import Database
from calsync.store.migrate import head_revision


@dataclasses.dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: dict[str, str]
    """check -> "ok" or the reason it is not."""

    @property
    def reason(self) -> str | None:
        failed = [f"{name}: {why}" for name, why in self.checks.items() if why != "ok"]
        return "; ".join(failed) or None


def readiness(db: Database, now: dt.datetime, *, expect_workers: bool, heartbeat_within: dt.timedelta) -> Readiness:
    checks: dict[str, str] = {}
    try:
        with db.session(write=False) as session:
            health.ping(session)
            checks["database"] = "ok"
            revision = health.schema_revision(session)
            head = head_revision()
            if revision == head:
                checks["migrations"] = "ok"
            elif revision is None:
                checks["migrations"] = "the database has no schema: run 'calsync db upgrade'"
            else:
                checks["migrations"] = (
                    f"the database is at {revision}, this calsync expects {head}: run 'calsync db upgrade'"
                )
            if expect_workers:
                newest = health.newest_heartbeat(session)
                if newest is None:
                    checks["workers"] = "no worker has ever beaten: start 'calsync worker' (or serve with its worker)"
                elif now - newest > heartbeat_within:
                    age = int((now - newest).total_seconds())
                    checks["workers"] = f"the newest worker heartbeat is {age} s old: are the workers running?"
                else:
                    checks["workers"] = "ok"
    except SQLAlchemyError as exc:
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["error"])[0]
        checks.setdefault("database", f"unreachable ({first[:200]})")
    return Readiness(all(v == "ok" for v in checks.values()), checks)


def installation_probe(
    db: Database, clock: Callable[[], dt.datetime], live_within: dt.timedelta
) -> Callable[[], InstallationSnapshot]:
    """What :class:`calsync.metrics.InstallationCollector` calls at each scrape."""

    def probe() -> InstallationSnapshot:
        with db.session(write=False) as session:
            return health.snapshot(session, clock(), live_within)

    return probe
