"""Key rotation: ``calsync keys rotate`` re-encrypts every stored OAuth token under a new primary key.

The tokens are sealed with :class:`~calsync.crypto.TokenCipher` (Fernet with key ids); rotation reseals the
stored values where they are and never talks to a provider, so it needs no working grant.
"""

from __future__ import annotations

import dataclasses

from calsync.crypto import KeyFile
from calsync.services.connections.context import CalendarContext
from calsync.services.uow import unit_of_work
from calsync.store.connections import ConnectionRepository


@dataclasses.dataclass(frozen=True)
class RotationReport:
    new_key_id: str
    resealed: int
    """Connections whose tokens were re-encrypted."""
    retired: tuple[str, ...]


def rotate_keys(cc: CalendarContext, key_file: KeyFile | None, *, retire: bool = True) -> RotationReport:
    """``calsync keys rotate``: a new primary key, every stored token re-encrypted under it, old keys retired.

    Safe while the service runs: running processes notice the key file changed and seal new tokens with the new
    key; tokens they sealed with the old key meanwhile are caught by the next pass (repeated until none is left).
    """
    new_kid = key_file.add_primary() if key_file is not None else cc.cipher.primary
    resealed: set[int] = set()
    for _ in range(10):
        with unit_of_work(cc.service.db, write=False) as uow:
            stale = [cid for cid, a, r in ConnectionRepository(uow.session).all_sealed_tokens() if _stale(cc, a, r)]
        for cid in stale:
            # One short transaction per connection, re-reading the row under a lock: a token refreshed by the
            # running service between the scan and this write is resealed as it now is, never overwritten
            # with the older value the scan saw (a lost update would resurrect a rotated refresh token).
            with unit_of_work(cc.service.db) as uow:
                repo = ConnectionRepository(uow.session)
                current = repo.get(cid, for_update=True)
                if current is None or not _stale(cc, current.access_token_enc, current.refresh_token_enc):
                    continue
                repo.reseal_tokens(
                    cid,
                    cc.cipher.reseal(current.access_token_enc) if current.access_token_enc else None,
                    cc.cipher.reseal(current.refresh_token_enc) if current.refresh_token_enc else None,
                )
                resealed.add(cid)
        if not stale:
            break
    retired: list[str] = []
    if retire and key_file is not None:
        retired = key_file.retire(keep={new_kid})
    return RotationReport(new_kid, len(resealed), tuple(retired))


def _stale(cc: CalendarContext, access: str | None, refresh: str | None) -> bool:
    return bool((access and cc.cipher.needs_rotation(access)) or (refresh and cc.cipher.needs_rotation(refresh)))
