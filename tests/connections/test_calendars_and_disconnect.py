"""Sub-calendars (list, pick, dedicated) and disconnecting (revoke, delete tokens, optionally remove entries), for
both providers against the sandbox."""

from __future__ import annotations

from typing import Any

from calsync.core.connection import Provider
from calsync.core.entry import RenderContext, render
from calsync.core.model import RsvpStatus
from calsync.core.plan import Synced
from calsync.store.connections import ConnectionRepository, InstallationRepository
from calsync.store.entries import EntryRepository
from tests.connections.conftest import World
from tests.sync.factories import event


def _calendars(world: World, who: str = "ann") -> list[dict[str, Any]]:
    r = world.browser().get("/api/v1/me/calendar/calendars", headers=world.h(who))
    assert r.status_code == 200, r.text
    return list(r.json())


def _remote_calendar_names(world: World, provider: Provider, email: str) -> list[str]:
    if provider is Provider.GOOGLE:
        state = world.emulator(provider).state
        with state.lock:
            return [c.summary for c in state.calendars_of(email)]
    account = next(a for a in world.emulator(provider).accounts() if a["email"] == email)
    return list(account["calendars"])


def test_list_pick_and_create_a_dedicated_calendar(world: World, provider: Provider) -> None:
    """Writable calendars are listed; picking one sets the target; a dedicated calendar is created once."""
    world.connect("ann", provider)
    listed = _calendars(world)
    assert [c for c in listed if c["primary"]] and all(c["writable"] for c in listed)
    assert set(listed[0]) == {"id", "name", "primary", "writable", "time_zone"}

    put = world.browser().put
    r = put("/api/v1/me/calendar/target", json={"create_dedicated": True}, headers=world.h("ann"))
    assert r.status_code == 200, r.text
    target = r.json()["target_calendar"]
    assert target["name"] == "Acme events" and target["dedicated"] is True
    assert r.json()["need_full_sync"] is True and "Acme events" in r.json()["need_full_sync_reason"]
    again = put("/api/v1/me/calendar/target", json={"create_dedicated": True}, headers=world.h("ann"))
    assert again.status_code == 200 and again.json()["target_calendar"]["id"] == target["id"]
    assert _remote_calendar_names(world, provider, "ann@acme.test").count("Acme events") == 1

    primary = next(c for c in _calendars(world) if c["primary"])
    back = put("/api/v1/me/calendar/target", json={"calendar_id": primary["id"]}, headers=world.h("ann"))
    assert back.status_code == 200
    assert back.json()["target_calendar"] == {"id": primary["id"], "name": primary["name"], "dedicated": False}
    assert world.status("ann")["target_calendar"]["id"] == primary["id"]


def test_bad_target_requests_say_what_to_fix(world: World, provider: Provider) -> None:
    """An unknown calendar id, both choices at once, or neither: 422 naming the field; the target is unchanged."""
    world.connect("ann", provider)
    before = world.status("ann")["target_calendar"]
    put = world.browser().put
    r = put("/api/v1/me/calendar/target", json={"calendar_id": "nope"}, headers=world.h("ann"))
    assert r.status_code == 422 and "pick one from the list" in r.json()["error"]["message"]
    assert r.json()["error"]["field"] == "calendar_id"
    r = put("/api/v1/me/calendar/target", json={"calendar_id": "x", "create_dedicated": True}, headers=world.h("ann"))
    assert r.status_code == 422 and "either calendar_id or create_dedicated" in r.json()["error"]["message"]
    r = put("/api/v1/me/calendar/target", json={}, headers=world.h("ann"))
    assert r.status_code == 422
    r = put("/api/v1/me/calendar/target", json={"calendar": "x"}, headers=world.h("ann"))
    assert r.status_code == 422 and "not a field" in r.json()["error"]["message"]
    assert world.status("ann")["target_calendar"] == before


def test_resync_marks_a_full_sync(world: World, provider: Provider) -> None:
    """POST /me/calendar/resync sets need_full_sync with the reason and makes the connection due."""
    world.connect("ann", provider)
    r = world.browser().post("/api/v1/me/calendar/resync", headers=world.h("ann"))
    assert r.status_code == 200 and r.json()["need_full_sync_reason"] == "resync requested by you"
    with world.runtime.db.session(write=False) as s:
        record = ConnectionRepository(s).active_for_person(world.people["ann"].id)
    assert record is not None and record.resync_requested and record.due_at is not None


def _make_entries(world: World, provider: Provider, count: int) -> tuple[int, list[str]]:
    """Write ``count`` entries the way the engine does (entries adapter + entry rows); returns their ids."""
    client = world.browser()
    record = None
    with world.runtime.db.session(write=False) as s:
        record = ConnectionRepository(s).active_for_person(world.people["ann"].id)
    assert record is not None
    token, record = world.runtime.tokens.access_token(record.id)
    now = world.runtime.service.now()
    with world.runtime.db.session() as s:
        installation = InstallationRepository(s).installation_id(now)
    entries = world.runtime.providers.entries(provider, record.account_email)
    ids: list[str] = []
    for n in range(count):
        r = client.post(
            "/api/v1/events",
            json={"title": f"Talk {n}", "start": "2026-12-10T18:00:00", "end": "2026-12-10T20:00:00"},
            headers=world.h("ada"),
        )
        assert r.status_code == 201, r.text
        event_id = int(r.json()["id"])
        ctx = RenderContext(installation, record.id, "ann@acme.test", "Ada", "ada@acme.test", "https://c.test/e")
        content = render(event(event_id, title=f"Talk {n}"), RsvpStatus.ACCEPTED, ctx)
        assert content is not None
        written = entries.create(token, record.target_calendar_id or "", content, 0)
        with world.runtime.db.session() as s:
            EntryRepository(s).save_synced(
                record.id,
                event_id,
                Synced(written.provider_id, record.target_calendar_id, written.etag, content.fingerprint(),
                       RsvpStatus.ACCEPTED, 1),
                now,
            )
        ids.append(written.provider_id)
    return record.id, ids


def _live_remote_ids(world: World, provider: Provider) -> set[str]:
    if provider is Provider.GOOGLE:
        return {e["id"] for e in world.emulator(provider).events("ann@acme.test") if e.get("status") != "cancelled"}
    return {e["id"] for e in world.emulator(provider).events("ann@acme.test")}


def test_disconnect_keeps_entries_by_default_and_deletes_tokens(world: World, provider: Provider) -> None:
    """Disconnect revokes the grant (Google), deletes the tokens, keeps calsync's entries unless asked."""
    world.connect("ann", provider)
    connection_id, ids = _make_entries(world, provider, 2)
    r = world.browser().post("/api/v1/me/calendar/disconnect", headers=world.h("ann"))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report == {
        "provider": provider.value,
        "revoked": provider is Provider.GOOGLE,  # Microsoft offers apps no revocation endpoint
        "entries_removed": 0,
        "problems": [],
    }
    assert set(ids) <= _live_remote_ids(world, provider)
    with world.runtime.db.session(write=False) as s:
        record = ConnectionRepository(s).get(connection_id)
    assert record is not None and record.status.value == "disconnected"
    assert record.access_token_enc is None and record.refresh_token_enc is None and record.token_expires_at is None
    status = world.status("ann")
    assert status["connected"] is False and status["status"] == "disconnected" and status["disconnected_at"]
    if provider is Provider.GOOGLE:
        state = world.emulator(provider).state
        with state.lock:
            assert all(t.grant.revoked for t in state.refresh_tokens.values())
    assert world.browser().post("/api/v1/me/calendar/disconnect", headers=world.h("ann")).status_code == 404


def test_disconnect_with_remove_entries_removes_calsyncs_entries(world: World, provider: Provider) -> None:
    """remove_entries deletes the entries calsync made from the calendar (and their rows), then disconnects."""
    world.connect("ann", provider)
    connection_id, ids = _make_entries(world, provider, 3)
    assert set(ids) <= _live_remote_ids(world, provider)
    r = world.browser().post(
        "/api/v1/me/calendar/disconnect", json={"remove_entries": True}, headers=world.h("ann")
    )
    assert r.status_code == 200, r.text
    assert r.json()["entries_removed"] == 3 and r.json()["problems"] == []
    assert not set(ids) & _live_remote_ids(world, provider)
    with world.runtime.db.session(write=False) as s:
        assert EntryRepository(s).mapped(connection_id) == []


def test_disconnect_of_a_broken_connection_still_deletes_the_tokens(world: World, provider: Provider) -> None:
    """A connection in error disconnects cleanly: tokens deleted, the entries problem reported in plain words."""
    world.connect("ann", provider)
    emulator = world.emulator(provider)
    emulator.revoke_grants("ann@acme.test") if provider is Provider.GOOGLE else emulator.revoke("ann@acme.test")
    world.clock.advance(hours=2)
    assert world.browser().get("/api/v1/me/calendar/calendars", headers=world.h("ann")).status_code == 409
    r = world.browser().post("/api/v1/me/calendar/disconnect", json={"remove_entries": True}, headers=world.h("ann"))
    assert r.status_code == 200, r.text
    assert any("remove them by hand" in p for p in r.json()["problems"])
    assert world.status("ann")["status"] == "disconnected"
