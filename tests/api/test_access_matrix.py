"""Every endpoint against every role, and every event endpoint from another organization (always 404)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Api

WHO = ["admin", "organizer", "organizer2", "member", "support", "other_admin"]
NEW_EVENT = {"title": "T", "start": "2026-05-01T09:00:00", "end": "2026-05-01T10:00:00"}

# (method, path, body, expected status per WHO). {e} is an event organized by "organizer" in Acme;
# {p} is member2's id. other_admin is in Globex: Acme's objects are 404 to them, their own organization works.
MATRIX: list[tuple[str, str, Any, list[int]]] = [
    ("GET", "/api/v1/organizations/me", None, [200, 200, 200, 200, 200, 200]),
    ("PUT", "/api/v1/organizations/me/modules/events", {"enabled": True}, [200, 403, 403, 403, 403, 200]),
    ("GET", "/api/v1/people", None, [200, 200, 200, 403, 200, 200]),
    ("POST", "/api/v1/people", "new-person", [201, 403, 403, 403, 403, 201]),
    ("GET", "/api/v1/people/me", None, [200, 200, 200, 200, 200, 200]),
    ("GET", "/api/v1/people/{p}", None, [200, 200, 200, 403, 200, 404]),
    ("POST", "/api/v1/people/{p}/tokens", None, [201, 403, 403, 403, 403, 404]),
    ("POST", "/api/v1/people/me/tokens", None, [201, 201, 201, 201, 201, 201]),
    ("GET", "/api/v1/people/me/rsvps", None, [200, 200, 200, 200, 200, 200]),
    ("POST", "/api/v1/events", NEW_EVENT, [201, 201, 201, 403, 403, 201]),
    ("GET", "/api/v1/events", None, [200, 200, 200, 200, 200, 200]),
    ("GET", "/api/v1/events/{e}", None, [200, 200, 200, 200, 200, 404]),
    ("PATCH", "/api/v1/events/{e}", {"title": "Renamed"}, [200, 200, 403, 403, 403, 404]),
    ("POST", "/api/v1/events/{e}/invitations", {"person_ids": ["{p}"]}, [200, 200, 403, 403, 403, 404]),
    ("GET", "/api/v1/events/{e}/rsvps", None, [200, 200, 403, 403, 200, 404]),
    ("PUT", "/api/v1/events/{e}/rsvp", {"status": "accepted"}, [200, 200, 200, 200, 200, 404]),
    ("GET", "/api/v1/events/{e}/rsvp", None, [404, 404, 404, 404, 404, 404]),
    ("POST", "/api/v1/events/{e}/cancel", None, [200, 200, 403, 403, 403, 404]),
]


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if value == "new-person":
        return {"email": f"p{ids['n']}@new.test", "name": "N", "timezone": "UTC"}
    if isinstance(value, str):
        for key, number in ids.items():
            if value == "{" + key + "}":
                return number
            value = value.replace("{" + key + "}", str(number))
        return value
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_each_role_gets_the_documented_status(api: Api, method: str, path: str, body: Any, expected: list[int]) -> None:
    """Admin, organizer (own event), another organizer, member, support and another organization's admin each get
    the status the role table promises for this endpoint."""
    got = []
    for n, who in enumerate(WHO):
        event = api.new_event()  # fresh per caller, so one caller's cancel or RSVP does not affect the next
        ids = {"e": event["id"], "p": api.id("member2"), "n": n}
        response = api.client.request(method, _fill(path, ids), headers=api.h(who), json=_fill(body, ids))
        got.append(response.status_code)
    assert got == expected


def test_another_organizations_event_is_indistinguishable_from_a_missing_one(api: Api) -> None:
    """For every event endpoint, Globex's event id gives the same 404 body shape as an id that does not exist."""
    theirs = api.new_event("other_organizer")["id"]
    for suffix, method, body in [
        ("", "GET", None),
        ("", "PATCH", {"title": "x"}),
        ("/cancel", "POST", None),
        ("/invitations", "POST", {"person_ids": [api.id("member")]}),
        ("/rsvps", "GET", None),
        ("/rsvp", "GET", None),
        ("/rsvp", "PUT", {"status": "accepted"}),
    ]:
        for who in ("admin", "organizer", "member", "support"):
            a = api.client.request(method, f"/api/v1/events/{theirs}{suffix}", headers=api.h(who), json=body)
            b = api.client.request(method, f"/api/v1/events/999999{suffix}", headers=api.h(who), json=body)
            assert (a.status_code, b.status_code) == (404, 404), (suffix, method, who)
            assert a.json()["error"]["message"].replace(str(theirs), "N") == b.json()["error"]["message"].replace(
                "999999", "N"
            )
