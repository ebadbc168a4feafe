"""The API tells the truth about itself (issue 13): what the OpenAPI document says matches what the API does.

Before: ``EventOut.start`` was declared ``format: date-time`` (which promises an offset) and returned without one;
``from=1700000000`` was read as a Unix time; ``"enabled": 0`` switched a module off; a 405 named only one route's
methods; and no operation documented its error answers. ``tests/fuzz`` checks the whole document with every
schemathesis check; these are the named cases.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import Api, error_of

E = "/api/v1/events"


@pytest.mark.parametrize(
    "value", ["1700000000", "2026-03-08T14:00:00", "2026-03-08", "1700000000.5", "2026-03-08 14:00:00Z"]
)
def test_from_needs_an_instant_with_an_offset(api: Api, value: str) -> None:
    for path in (E, "/api/v1/people/me/rsvps"):
        response = api.get("member", path, params={"from": value})
        assert response.status_code == 422, (path, value, response.text)
        error = error_of(response)
        assert "query parameter 'from'" in error["message"] and "UTC offset" in error["message"]


def test_from_with_an_offset_is_accepted(api: Api) -> None:
    for value in ("2026-03-08T14:00:00Z", "2026-03-08T14:00:00+01:00", "2026-03-08T14:00:00.5-05:00"):
        assert api.get("member", E, params={"from": value}).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("start", "2026-05-01 09:30:00"),
        ("start", "2026-05-01T09:30:00+02:00"),
        ("start", 1700000000),
        ("start_date", "2026-05-01T00:00:00"),
        ("all_day", "yes"),
        ("all_day", 0),
        ("title", 5),
    ],
)
def test_values_are_not_coerced(api: Api, snapshot: Any, field: str, value: Any) -> None:
    before = snapshot()
    body = {"title": "T", "start": "2026-05-01T09:00:00", "end": "2026-05-01T10:00:00", field: value}
    response = api.post("organizer", E, body)
    assert response.status_code == 422, response.text
    assert error_of(response)["message"].startswith(field)
    assert snapshot() == before


def test_module_switch_and_invitations_need_real_booleans_and_ids(api: Api, snapshot: Any) -> None:
    event = api.new_event()
    before = snapshot()
    assert api.put("admin", "/api/v1/organizations/me/modules/events", {"enabled": 0}).status_code == 422
    assert api.put("admin", "/api/v1/organizations/me/modules/events", {"enabled": "false"}).status_code == 422
    invite = api.post("organizer", f"{E}/{event['id']}/invitations", {"person_ids": [str(api.id("member"))]})
    assert invite.status_code == 422
    assert snapshot() == before


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", E, "GET, POST"),
        ("DELETE", "/api/v1/people/me", "GET, PATCH"),
        ("POST", E + "/1/rsvp", "GET, PUT"),
        ("PUT", "/api/v1/session", "DELETE, GET, POST"),
        ("PATCH", "/api/v1/people/me/tokens", "GET, POST"),
    ],
)
def test_405_names_every_method_of_the_path(api: Api, method: str, path: str, allow: str) -> None:
    response = api.client.request(method, path, headers=api.h("member"))
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert error_of(response)["code"] == "method_not_allowed"


def test_the_document_says_what_event_times_are(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for name in ("EventOut", "EventIn", "EventPatchIn"):
        for field in ("start", "end"):
            declared = schemas[name]["properties"][field]
            options = declared.get("anyOf", [declared])
            strings = [o for o in options if o.get("type") == "string"]
            assert strings and all("format" not in o and "pattern" in o for o in strings), (name, field, declared)
    pattern = next(o for o in schemas["EventOut"]["properties"]["start"]["anyOf"] if "pattern" in o)["pattern"]
    returned = api.new_event()
    assert re.match(pattern, returned["start"]) and re.match(pattern, returned["end"])
    instants = schemas["EventOut"]["properties"]["start_utc"]
    assert instants["format"] == "date-time" and returned["start_utc"].endswith("Z")


NO_CREDENTIALS = {"/api/v1/session", "/api/v1/password/forgot", "/api/v1/password/set"}
"""Operations for people who are not signed in yet: signing in, and the one-time set-password links."""


def test_every_operation_documents_its_error_answers(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert {"400", "413", "422"} <= statuses, (method, path, statuses)
            if path.startswith("/api/v1/") and path not in NO_CREDENTIALS:
                assert "401" in statuses, (method, path)
            for status in statuses - {"200", "201", "202", "204"}:
                body = operation["responses"][status]["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status, body)
