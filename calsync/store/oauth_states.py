"""One-time OAuth ``state`` rows (bound to a person and their browser, spent once): the only queries on them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from calsync.core.connection import Provider
from calsync.store.sync_models import OAuthStateRow


@dataclasses.dataclass(frozen=True)
class OAuthState:
    id: int
    person_id: int
    provider: Provider
    binding_hash: str
    flow_secret_enc: str = dataclasses.field(repr=False)
    redirect_uri: str
    expires_at: dt.datetime
    used_at: dt.datetime | None



class OAuthStateRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_state(self, **fields: Any) -> None:
        self.session.add(OAuthStateRow(**fields))
        self.session.flush()

    def take_state(self, state_hash: str) -> OAuthState | None:
        row = self.session.scalar(select(OAuthStateRow).where(OAuthStateRow.state_hash == state_hash).with_for_update())
        if row is None:
            return None
        return OAuthState(
            row.id,
            row.person_id,
            row.provider,
            row.binding_hash,
            row.flow_secret_enc,
            row.redirect_uri,
            row.expires_at,
            row.used_at,
        )

    def use_state(self, state_id: int, now: dt.datetime) -> bool:
        """Mark a state used; False if another request used it first (one-time, even under a race)."""
        result = self.session.execute(
            update(OAuthStateRow)
            .where(OAuthStateRow.id == state_id, OAuthStateRow.used_at.is_(None))
            .values(used_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def purge_states(self, now: dt.datetime) -> None:
        self.session.execute(delete(OAuthStateRow).where(OAuthStateRow.expires_at < now - dt.timedelta(days=1)))
