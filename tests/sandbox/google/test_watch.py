"""events.watch channels and channels.stop: sync/exists notifications with Google's headers (§1.5)."""

from __future__ import annotations

import email.utils
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from .conftest import GoogleKit, Receiver, reason, wait_until, when


def watch(svc: Any, receiver: Receiver, channel: str = "chan-1", **extra: Any) -> dict[str, Any]:
    body = {"id": channel, "type": "web_hook", "address": receiver.url, "token": "tok=1", **extra}
    return svc.events().watch(calendarId="primary", body=body).execute()


def test_watch_sends_sync_then_exists_with_headers(g: GoogleKit, receiver: Receiver) -> None:
    """Creating a channel sends sync (#1); each change sends exists with increasing numbers and all headers."""
    svc = g.service("alice@example.com")
    channel = watch(svc, receiver)
    assert channel["kind"] == "api#channel" and channel["id"] == "chan-1" and channel["token"] == "tok=1"
    assert isinstance(channel["expiration"], str) and channel["resourceUri"].endswith(
        "/calendars/alice@example.com/events?alt=json")
    wait_until(lambda: receiver.states("chan-1") == [("sync", 1)])
    svc.events().insert(calendarId="primary", body=when(9)).execute()
    svc.events().insert(calendarId="primary", body=when(10)).execute()
    wait_until(lambda: len(receiver.states("chan-1")) == 3)
    states = sorted(receiver.states("chan-1"), key=lambda s: s[1])
    assert [s for s, _ in states] == ["sync", "exists", "exists"] and states[1][1] < states[2][1]
    headers = receiver.items[-1].headers
    assert headers["x-goog-channel-token"] == "tok=1"
    assert headers["x-goog-resource-id"] == channel["resourceId"]
    assert headers["x-goog-resource-uri"] == channel["resourceUri"]
    expires = email.utils.parsedate_to_datetime(headers["x-goog-channel-expiration"])
    assert int(expires.timestamp()) == int(channel["expiration"]) // 1000
    assert receiver.items[-1].body == b""


def test_changes_by_the_page_or_python_api_notify(g: GoogleKit, receiver: Receiver) -> None:
    """An invitation answered through the Python API notifies the organizer's channel (same state code)."""
    alice = g.service("alice@example.com")
    g.google.create_account("bob@example.com")
    alice.events().insert(calendarId="primary", body={"id": "notif0001", "attendees": [
        {"email": "bob@example.com"}], **when(9)}).execute()
    watch(alice, receiver)
    wait_until(lambda: len(receiver.states("chan-1")) == 1)
    g.google.respond("bob@example.com", "notif0001", "accepted")
    wait_until(lambda: [s for s, _ in receiver.states("chan-1")] == ["sync", "exists"])


def test_default_ttl_params_ttl_and_max_ttl(g: GoogleKit, receiver: Receiver) -> None:
    """Default expiry is 7 days; params.ttl shortens it; set_max_channel_ttl caps new channels."""
    svc = g.service("alice@example.com")
    now_ms = g.running.sandbox.clock.now() * 1000
    default = int(watch(svc, receiver, "c-default")["expiration"])
    assert abs(default - (now_ms + 604800_000)) < 5000
    short = int(watch(svc, receiver, "c-short", params={"ttl": "60"})["expiration"])
    assert abs(short - (now_ms + 60_000)) < 5000
    g.google.set_max_channel_ttl(10)
    capped = int(watch(svc, receiver, "c-capped")["expiration"])
    assert abs(capped - (now_ms + 10_000)) < 5000


def test_expired_channels_stop_notifying(g: GoogleKit, receiver: Receiver) -> None:
    """After its expiration a channel sends nothing more, and its id can be used again."""
    svc = g.service("alice@example.com")
    watch(svc, receiver, params={"ttl": "60"})
    wait_until(lambda: len(receiver.states("chan-1")) == 1)
    g.running.sandbox.clock.advance(61)
    svc.events().insert(calendarId="primary", body=when(9)).execute()
    watch(svc, receiver, "probe")
    wait_until(lambda: len(receiver.states("probe")) == 1)
    assert receiver.states("chan-1") == [("sync", 1)]
    assert watch(svc, receiver)["id"] == "chan-1"


def test_stop_and_unknown_stop(g: GoogleKit, receiver: Receiver) -> None:
    """channels.stop answers 204 and ends notifications; stopping an unknown channel is 404."""
    svc = g.service("alice@example.com")
    channel = watch(svc, receiver)
    svc.channels().stop(body={"id": channel["id"], "resourceId": channel["resourceId"]}).execute()
    assert g.google.channels() == []
    with pytest.raises(HttpError) as info:
        svc.channels().stop(body={"id": channel["id"], "resourceId": channel["resourceId"]}).execute()
    assert info.value.resp.status == 404


def test_channel_id_must_be_unique(g: GoogleKit, receiver: Receiver) -> None:
    """A live channel's id cannot be reused: 400 channelIdNotUnique."""
    svc = g.service("alice@example.com")
    watch(svc, receiver)
    with pytest.raises(HttpError) as info:
        watch(svc, receiver)
    assert info.value.resp.status == 400 and reason(info.value) == "channelIdNotUnique"


@pytest.mark.parametrize("address", ["http://example.com/hook", "ftp://127.0.0.1/hook"])
def test_address_must_be_https(g: GoogleKit, address: str) -> None:
    """Non-HTTPS addresses are refused unless plain http to loopback (allowed by the sandbox setting)."""
    svc = g.service("alice@example.com")
    with pytest.raises(HttpError) as info:
        svc.events().watch(calendarId="primary", body={"id": "x", "type": "web_hook", "address": address}).execute()
    assert info.value.resp.status == 400 and reason(info.value) == "push.webhookUrlNotHttps"


def test_http_loopback_refused_when_setting_off(g: GoogleKit, receiver: Receiver) -> None:
    """With allow_http_loopback_notifications off, even loopback http is refused."""
    g.running.sandbox.context.allow_http_loopback_notifications = False
    try:
        with pytest.raises(HttpError) as info:
            watch(g.service("alice@example.com"), receiver)
        assert reason(info.value) == "push.webhookUrlNotHttps"
    finally:
        g.running.sandbox.context.allow_http_loopback_notifications = True
