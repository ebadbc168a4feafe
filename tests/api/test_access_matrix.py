"""Every endpoint against every role, and every event endpoint from another organization (always 404).

The last column is an operator token (``calsync init``): it manages organizations and reads nothing of theirs, so
it is 403 on every organization-data endpoint, and only it may use the operator endpoints (people get 403)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Api

WHO = ["admin", "organizer", "organizer2", "member", "support", "other_admin", "operator"]
NEW_EVENT = {"title": "T", "start": "2026-05-01T09:00:00", "end": "2026-05-01T10:00:00"}

# (method, path, body, expected status per WHO). {e} is an event organized by "organizer" in Acme;
# {p} is member2's id. other_admin is in Globex: Acme's objects are 404 to them, their own organization works.
MATRIX: list[tuple[str, str, Any, list[int]]] = [
    ("GET", "/api/v1/organizations/me", None, [200, 200, 200, 200, 200, 200, 403]),
    ("PUT", "/api/v1/organizations/me/modules/events", {"enabled": True}, [200, 403, 403, 403, 403, 200, 403]),
    ("GET", "/api/v1/people", None, [200, 200, 200, 403, 200, 200, 403]),
    ("POST", "/api/v1/people", "new-person", [201, 403, 403, 403, 403, 201, 403]),
    ("GET", "/api/v1/people/me", None, [200, 200, 200, 200, 200, 200, 403]),
    ("GET", "/api/v1/people/{p}", None, [200, 200, 200, 403, 200, 404, 403]),
    ("POST", "/api/v1/people/{p}/tokens", None, [201, 403, 403, 403, 403, 404, 403]),
    ("POST", "/api/v1/people/me/tokens", None, [201, 201, 201, 201, 201, 201, 403]),
    ("GET", "/api/v1/people/me/rsvps", None, [200, 200, 200, 200, 200, 200, 403]),
    ("POST", "/api/v1/events", NEW_EVENT, [201, 201, 201, 403, 403, 201, 403]),
    ("GET", "/api/v1/events", None, [200, 200, 200, 200, 200, 200, 403]),
    ("GET", "/api/v1/events/{e}", None, [200, 200, 200, 200, 200, 404, 403]),
    ("PATCH", "/api/v1/events/{e}", {"title": "Renamed"}, [200, 200, 403, 403, 403, 404, 403]),
    ("POST", "/api/v1/events/{e}/invitations", {"person_ids": ["{p}"]}, [200, 200, 403, 403, 403, 404, 403]),
    ("GET", "/api/v1/events/{e}/rsvps", None, [200, 200, 403, 403, 200, 404, 403]),
    ("PUT", "/api/v1/events/{e}/rsvp", {"status": "accepted"}, [200, 200, 200, 200, 200, 404, 403]),
    ("GET", "/api/v1/events/{e}/rsvp", None, [404, 404, 404, 404, 404, 404, 403]),
    ("POST", "/api/v1/events/{e}/cancel", None, [200, 200, 403, 403, 403, 404, 403]),
    ("POST", "/api/v1/people/{p}/password-link", None, [201, 403, 403, 403, 403, 404, 403]),
    ("GET", "/api/v1/me/calendar", None, [200, 200, 200, 200, 200, 200, 403]),
    ("GET", "/api/v1/connections", None, [200, 403, 403, 403, 200, 200, 403]),
    ("GET", "/api/v1/people/{p}/calendar", None, [200, 403, 403, 403, 200, 404, 403]),
    # operator endpoints: the operator token only
    ("GET", "/api/v1/organizations", None, [403, 403, 403, 403, 403, 403, 200]),
    ("POST", "/api/v1/organizations", "new-org", [403, 403, 403, 403, 403, 403, 201]),
    ("GET", "/api/v1/organizations/{o}", None, [403, 403, 403, 403, 403, 403, 200]),
    ("POST", "/api/v1/organizations/{o}/disable", None, [403, 403, 403, 403, 403, 403, 200]),
    ("POST", "/api/v1/organizations/{o}/enable", None, [403, 403, 403, 403, 403, 403, 200]),
]


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if value == "new-person":
        return {"email": f"p{ids['n']}@new.test", "name": "N", "timezone": "UTC"}
    if value == "new-org":
        return {"name": f"New {ids['n']}", "admin_email": f"admin{ids['n']}@neworg.test"}
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
        ids = {"e": event["id"], "p": api.id("member2"), "n": n, "o": api.people["other_admin"].organization_id}
        response = api.client.request(method, _fill(path, ids), headers=api.h(who), json=_fill(body, ids))
        got.append(response.status_code)
        if "/disable" in path and response.status_code == 200:  # keep Globex usable for the next caller
            api.post("operator", path.replace("{o}", str(ids["o"])).replace("/disable", "/enable"))
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
