"""The API in-process (Starlette TestClient over ASGI) on a real SQLite file or PostgreSQL database.

``api`` holds a client and a token per role in organization "Acme" (Events on), plus an admin and an organizer
in "Globex", so tests can show cross-organization access and every role, and an operator token (``operator``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from calsync.config import Settings
from calsync.core.model import Module, Person, Role
from calsync.services import auth, organizations, people
from calsync.services.context import ServiceContext
from calsync.store.db import Database
from calsync.web.app import create_app
from tests.conftest import TEST_PASSWORDS

ROLES = ["admin", "organizer", "organizer2", "member", "member2", "support", "other_admin", "other_organizer"]
PASSWORD = "correct horse battery"


@dataclass
class Api:
    client: TestClient
    tokens: dict[str, str]
    people: dict[str, Person]
    ctx: ServiceContext

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def id(self, who: str) -> int:
        return self.people[who].id

    def get(self, who: str, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self.h(who), **kw)

    def post(self, who: str, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(url, headers=self.h(who), json=json, **kw)

    def patch(self, who: str, url: str, json: Any = None) -> Any:
        return self.client.patch(url, headers=self.h(who), json=json)

    def put(self, who: str, url: str, json: Any = None) -> Any:
        return self.client.put(url, headers=self.h(who), json=json)

    def delete(self, who: str, url: str) -> Any:
        return self.client.delete(url, headers=self.h(who))

    def new_event(self, who: str = "organizer", **fields: Any) -> dict[str, Any]:
        body = {"title": "Planning", "start": "2026-03-10T09:00:00", "end": "2026-03-10T10:00:00"}
        body.update(fields)
        response = self.post(who, "/api/v1/events", body)
        assert response.status_code == 201, response.text
        return dict(response.json())


@pytest.fixture
def api(database: Database, clock: Any, data_dir: Any) -> Iterator[Api]:
    ctx = ServiceContext(db=database, clock=clock, passwords=TEST_PASSWORDS)
    acme = organizations.create_organization(ctx, "Acme", frozenset({Module.EVENTS}))
    globex = organizations.create_organization(ctx, "Globex", frozenset({Module.EVENTS}))
    spec = {
        "admin": (acme.id, "admin@acme.test", "Europe/Berlin", Role.ADMIN),
        "organizer": (acme.id, "olivia@acme.test", "America/New_York", Role.ORGANIZER),
        "organizer2": (acme.id, "oscar@acme.test", "Europe/London", Role.ORGANIZER),
        "member": (acme.id, "max@acme.test", "Asia/Tokyo", Role.MEMBER),
        "member2": (acme.id, "mia@acme.test", "Australia/Sydney", Role.MEMBER),
        "support": (acme.id, "sam@acme.test", "UTC", Role.SUPPORT),
        "other_admin": (globex.id, "admin@globex.test", "UTC", Role.ADMIN),
        "other_organizer": (globex.id, "otto@globex.test", "UTC", Role.ORGANIZER),
    }
    found: dict[str, Person] = {}
    tokens: dict[str, str] = {}
    for key, (org_id, email, zone, role) in spec.items():
        # no passwords here: argon2 is slow on purpose; the session tests set one through the API
        found[key] = people.register(
            ctx, org_id, people.NewPerson(email=email, name=key.title(), timezone=zone, role=role)
        )
        tokens[key] = auth.issue_token_unchecked(ctx, found[key].id, "test").secret
    tokens["operator"] = organizations.new_operator_token(ctx, "test")  # an operator: no person, no organization
    app = create_app(Settings(data_dir=data_dir), database=database, clock=clock)
    with TestClient(app, raise_server_exceptions=True) as client:
        yield Api(client=client, tokens=tokens, people=found, ctx=ctx)


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body
    return dict(body["error"])


NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
