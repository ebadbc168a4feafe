"""Admin: modules, connections by state, recent sync errors, worker liveness, push-channel expiry; who may see it."""

from __future__ import annotations

import datetime as dt
from html import unescape

from calsync.core.connection import ConnectionStatus
from calsync.core.model import Role
from calsync.services.badges import FEATURE_UNAVAILABLE
from calsync.store.connections import ConnectionRepository
from calsync.store.work import WorkRepository
from tests.pages.conftest import Site, add_connection


def test_only_admins_and_support_see_the_admin_page(site: Site) -> None:
    """Admins and support get the page; organizers and members get 403; the nav link follows the same rule."""
    for role, status in ((Role.ADMIN, 200), (Role.SUPPORT, 200), (Role.ORGANIZER, 403), (Role.MEMBER, 403)):
        browser = site.browser(role)
        assert browser.get("/admin").status_code == status, role
        assert ('href="/admin"' in browser.get("/events").text) is (status == 200), role


def test_admin_switches_the_events_module_and_support_cannot(site: Site) -> None:
    """An admin turns Events off (members then see the feature message) and on again; support's POST is 403."""
    support = site.browser(Role.SUPPORT)
    assert 'data-testid="toggle-events"' not in support.get("/admin").text
    assert support.post("/admin/modules", {"module": "events", "enabled": "0"}, page="/admin").status_code == 403
    admin = site.browser(Role.ADMIN)
    off = admin.post("/admin/modules", {"module": "events", "enabled": "0"}, page="/admin")
    assert off.status_code == 303
    assert "Events (events, RSVPs and calendar sync): <strong>off</strong>" in admin.get("/admin").text
    member = site.browser(Role.MEMBER)
    assert FEATURE_UNAVAILABLE in unescape(member.get("/events").text)
    admin.post("/admin/modules", {"module": "events", "enabled": "1"}, page="/admin")
    assert member.get("/events").status_code == 200
    bad = admin.post("/admin/modules", {"module": "chat", "enabled": "1"}, page="/admin")
    assert bad.status_code == 422 and "There is no module" in unescape(bad.text)


def test_admin_sees_connections_by_state_errors_workers_and_channels(site: Site) -> None:
    """Counts per state, each connection's channel expiry, the logged errors, and which workers are alive."""
    now = site.ctx.now()
    ok = add_connection(site.ctx, site.person(Role.MEMBER), channel_expires_at=now + dt.timedelta(days=6))
    broken = add_connection(
        site.ctx,
        site.demo.logins[3].person,
        status=ConnectionStatus.ERROR,
        error_reason="Microsoft says the grant was revoked.",
    )
    add_connection(site.ctx, site.globex_organizer)  # another organization: not shown
    with site.ctx.db.session() as session:
        repo = ConnectionRepository(session)
        repo.log(broken, now, "refresh", "invalid_grant: the refresh token was revoked", level="error")
        repo.log(ok, now, "push", "entry created", level="info")
        work = WorkRepository(session)
        work.heartbeat("worker-alive", "host-a", 101, now - dt.timedelta(seconds=5))
        work.heartbeat("worker-dead", "host-b", 202, now - dt.timedelta(minutes=5))
        work.heartbeat("scheduler-1", "host-a", 103, now - dt.timedelta(minutes=2), kind="scheduler")
    html = unescape(site.browser(Role.ADMIN).get("/admin").text)
    assert 'data-testid="count-connected">1<' in html and 'data-testid="count-error">1<' in html
    assert "otto@globex.test" not in html
    assert "Microsoft says the grant was revoked." in html
    assert "invalid_grant: the refresh token was revoked" in html and "entry created" not in html
    assert "1 worker process alive (heartbeat within 60 seconds)." in html
    assert "worker-dead" in html and "5 minutes ago" in html
    assert "Scheduler: not alive (no heartbeat within 60 seconds)." in html
    expiry = (now + dt.timedelta(days=6)).astimezone(dt.timezone(dt.timedelta(hours=1)))  # Ada is in Berlin (CET)
    assert f"{expiry:%a %d %b %Y, %H:%M}" in html


def test_no_live_worker_is_called_out(site: Site) -> None:
    """Without any heartbeat the page says nothing is being synced and how to start a worker."""
    html = site.browser(Role.SUPPORT).get("/admin").text
    assert "No worker is alive: nothing is being synced." in html
    assert 'data-testid="no-errors"' in html
