"""Pseudo-zones are refused for events and people over the API, on SQLite and PostgreSQL (issue 13)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Api, error_of

TIMES = {"start": "2026-05-01T09:00:00", "end": "2026-05-01T10:00:00"}


@pytest.mark.parametrize("name", ["posixrules", "localtime", "Factory", "posix/Europe/Paris", "right/UTC"])
def test_pseudo_zones_are_422_for_events_and_people(api: Api, snapshot: Any, name: str) -> None:
    event = api.new_event()
    before = snapshot()
    for who, method, path, body in (
        ("organizer", "POST", "/api/v1/events", {"title": "T", "timezone": name, **TIMES}),
        ("organizer", "PATCH", f"/api/v1/events/{event['id']}", {"timezone": name}),
        ("member", "PATCH", "/api/v1/people/me", {"timezone": name}),
        ("admin", "POST", "/api/v1/people", {"email": "z@acme.test", "name": "Z", "timezone": name}),
    ):
        response = api.client.request(method, path, headers=api.h(who), json=body)
        assert response.status_code == 422, (path, response.text)
        error = error_of(response)
        assert error["field"] == "timezone" and repr(name) in error["message"]
    assert snapshot() == before


def test_the_message_names_the_zone_meant(api: Api) -> None:
    response = api.post("organizer", "/api/v1/events", {"title": "T", "timezone": "posix/Europe/Paris", **TIMES})
    assert "did you mean 'Europe/Paris'?" in error_of(response)["message"]
