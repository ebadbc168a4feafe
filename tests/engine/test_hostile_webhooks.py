"""Graph notifications for known subscriptions with fields of the wrong JSON type (issue 13), on SQLite and
PostgreSQL, through the real connect flow.

Before: a known ``subscriptionId`` with a ``clientState`` that was not a string was a 500, and the whole batch
rolled back, so the genuine notification beside it was lost (polling alone would have caught the change).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from fastapi.testclient import TestClient

from calsync.core.connection import Provider
from calsync.store.connections import ConnectionRecord, ConnectionRepository
from calsync.web.app import create_app
from tests.engine.conftest import World


def _subscribed(world: World, email: str, subscription: str, secret: str) -> ConnectionRecord:
    """The person's connection with a Graph subscription calsync opened (as sync/push.py records one)."""
    world.connect(email)
    with world.runtime.db.session() as s:
        repo = ConnectionRepository(s)
        conn = repo.active_for_person(world.person(email).person_id)
        assert conn is not None
        repo.set_channel(
            conn.id,
            channel_id=subscription,
            resource_id=None,
            secret_hash=hashlib.sha256(secret.encode()).hexdigest(),
            expires_at=world.runtime.service.now() + dt.timedelta(days=2),
        )
        updated = repo.get(conn.id)
        assert updated is not None
        return updated


def _now(world: World, record: ConnectionRecord) -> ConnectionRecord:
    with world.runtime.db.session(write=False) as s:
        found = ConnectionRepository(s).by_channel(record.channel_id or "")
    assert found is not None
    return found


@pytest.mark.parametrize("world", [pytest.param(Provider.MICROSOFT, id="microsoft")], indirect=True)
def test_a_batch_with_wrong_json_types_keeps_its_genuine_item(world: World) -> None:
    ann = _subscribed(world, "ann@example.com", "sub-ann", "ann-secret")
    bob = _subscribed(world, "bob@example.com", "sub-bob", "bob-secret")
    wrong: list[Any] = [1, 1.5, True, None, [], {}, ["ann-secret"], {"value": "ann-secret"}]
    batch = [{"subscriptionId": "sub-ann", "clientState": c, "changeType": "updated"} for c in wrong]
    batch += [
        {"subscriptionId": "sub-ann", "clientState": "ann-secret", "lifecycleEvent": ["subscriptionRemoved"]},
        {"subscriptionId": "sub-bob", "clientState": "bob-secret", "changeType": "updated"},
        {"subscriptionId": ["sub-ann"], "clientState": "ann-secret"},
    ]
    with TestClient(create_app(world.runtime.settings, runtime=world.runtime)) as client:
        response = client.post("/webhooks/microsoft", json={"value": batch})
    assert response.status_code == 202, response.text
    ann_after, bob_after = _now(world, ann), _now(world, bob)
    # bob's genuine item counted; ann's one authenticated item (its lifecycleEvent of the wrong type read as a
    # plain change) too, and the subscription was not dropped on the strength of a list
    assert bob_after.work_seq == bob.work_seq + 1 and bob_after.pull_requested
    assert ann_after.work_seq == ann.work_seq + 1 and ann_after.channel_id == "sub-ann"
