"""Graph subscriptions (§3.6): validation handshake, notifications with clientState, renew, delete, expiry,
lifecycle notifications; delivered over a real loopback HTTP receiver."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx

from calsync.sandbox.microsoft import MicrosoftSandbox
from calsync.sandbox.server import RunningSandbox

from .conftest import Receiver, event_body, wait_for


def expiry(sandbox: RunningSandbox, minutes: float) -> str:
    return (sandbox.sandbox.clock.now_dt() + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def subscribe(g: httpx.Client, sandbox: RunningSandbox, receiver: Receiver, **extra: Any) -> httpx.Response:
    body = {"changeType": "created,updated,deleted", "notificationUrl": receiver.base_url + "/notify",
            "resource": "me/events", "expirationDateTime": expiry(sandbox, 60), "clientState": "secret-state",
            **extra}
    return g.post("/subscriptions", json=body)


def test_create_runs_handshake_and_notifies(sandbox: RunningSandbox, graph_for: Callable[..., httpx.Client],
                                            receiver: Receiver) -> None:
    """Create validates the URL (token echoed), returns 201, then each change is one notification with
    clientState, changeType and the event's resource."""
    g = graph_for("w@example.com")
    r = subscribe(g, sandbox, receiver)
    assert r.status_code == 201, r.text
    sub = r.json()
    assert len(receiver.validations) == 1 and sub["clientState"] == "secret-state"
    ev = g.post("/me/events", json=event_body()).json()
    g.patch(f"/me/events/{ev['id']}", json={"subject": "x"})
    g.delete(f"/me/events/{ev['id']}")
    values = wait_for(lambda: len(receiver.values()) >= 3 and receiver.values(), what="3 notifications")
    assert sorted(v["changeType"] for v in values) == ["created", "deleted", "updated"]
    for v in values:
        assert v["subscriptionId"] == sub["id"] and v["clientState"] == "secret-state" and v["tenantId"]
        assert v["resourceData"]["id"] == ev["id"] and v["resource"].endswith(f"/Events/{ev['id']}")
        assert v["resourceData"]["@odata.type"] == "#Microsoft.Graph.Event"


def test_change_types_filter(sandbox: RunningSandbox, graph_for: Callable[..., httpx.Client],
                             receiver: Receiver) -> None:
    """A subscription for 'deleted' only hears deletions."""
    g = graph_for("w@example.com")
    subscribe(g, sandbox, receiver, changeType="deleted")
    ev = g.post("/me/events", json=event_body()).json()
    g.delete(f"/me/events/{ev['id']}")
    values = wait_for(lambda: receiver.values(), what="a notification")
    assert [v["changeType"] for v in values] == ["deleted"]


def test_handshake_failures(sandbox: RunningSandbox, graph_for: Callable[..., httpx.Client], receiver: Receiver,
                            ms: MicrosoftSandbox) -> None:
    """A wrong echo, a non-200 or a slow answer fails creation with 400 and Graph's validation message."""
    g = graph_for("w@example.com")
    ms.settings.validation_timeout_seconds = 0.5
    receiver.slow_seconds = 2.0
    for mode in ("wrong", "status500", "slow"):
        receiver.mode = mode
        r = subscribe(g, sandbox, receiver)
        assert r.status_code == 400 and "must respond with 200 OK" in r.json()["error"]["message"], mode
    receiver.mode = "echo"
    assert g.get("/subscriptions").json()["value"] == []


def test_lifecycle_url_is_validated_too(sandbox: RunningSandbox, graph_for: Callable[..., httpx.Client],
                                       receiver: Receiver) -> None:
    """lifecycleNotificationUrl gets its own handshake."""
    g = graph_for("w@example.com")
    r = subscribe(g, sandbox, receiver, lifecycleNotificationUrl=receiver.base_url + "/lifecycle")
    assert r.status_code == 201 and len(receiver.validations) == 2


def test_request_validation(sandbox: RunningSandbox, graph_for: Callable[..., httpx.Client], receiver: Receiver,
                            ms: MicrosoftSandbox) -> None:
    """Non-https URLs, long clientState, bad changeType, unsupported resources and too-long lifetimes are 400."""
    g = graph_for("w@example.com")
    assert subscribe(g, sandbox, receiver, notificationUrl="http://example.com/hook").status_code == 400
    assert subscribe(g, sandbox, receiver, clientState="x" * 129).status_code == 400
    assert subscribe(g, sandbox, receiver, changeType="moved").status_code == 400
    assert subscribe(g, sandbox, receiver, resource="me/messages").status_code == 400
    too_long = subscribe(g, sandbox, receiver, expirationDateTime=expiry(sandbox, 10081))
    assert too_long.status_code == 400 and "10080 minutes" in too_long.json()["error"]["message"]
    ms.set_max_subscription_minutes(4230)
    assert subscribe(g, sandbox, receiver, expirationDateTime=expiry(sandbox, 4300)).status_code == 400
    assert subscribe(g, sandbox, receiver, expirationDateTime=expiry(sandbox, 4200)).status_code == 201
    sandbox.sandbox.context.allow_http_loopback_notifications = False
    try:
        assert subscribe(g, sandbox, receiver).status_code == 400
    finally:
        sandbox.sandbox.context.allow_http_loopback_notifications = True


def test_renew_list_delete_and_expiry(sandbox: RunningSandbox, graph_for: Callable[..., httpx.Client],
                                      receiver: Receiver) -> None:
    """PATCH renews (200), GET lists, DELETE 204; an expired subscription stops notifying."""
    g = graph_for("w@example.com")
    sub = subscribe(g, sandbox, receiver).json()
    new_expiry = expiry(sandbox, 120)
    renewed = g.patch(f"/subscriptions/{sub['id']}", json={"expirationDateTime": new_expiry})
    assert renewed.status_code == 200 and renewed.json()["expirationDateTime"] != sub["expirationDateTime"]
    assert [s["id"] for s in g.get("/subscriptions").json()["value"]] == [sub["id"]]
    sandbox.sandbox.clock.advance(121 * 60)
    g2 = graph_for("w@example.com")
    g2.post("/me/events", json=event_body())
    assert g2.get("/subscriptions").json()["value"] == []
    sub2 = subscribe(g2, sandbox, receiver).json()
    assert g2.delete(f"/subscriptions/{sub2['id']}").status_code == 204
    assert g2.get(f"/subscriptions/{sub2['id']}").status_code == 404
    g2.post("/me/events", json=event_body())
    sandbox.sandbox.notifier.pending  # noqa: B018 - nothing should be queued
    wait_for(lambda: sandbox.sandbox.notifier.pending == 0, what="idle notifier")
    assert receiver.values() == []


def test_invitation_notifies_attendee_subscription(sandbox: RunningSandbox, graph_for: Callable[..., httpx.Client],
                                                   receiver: Receiver) -> None:
    """An invitation from X shows up as 'created' on Y's subscription; Y's accept as 'updated' on X's."""
    y = graph_for("y@example.com")
    y_sub = subscribe(y, sandbox, receiver, clientState="y").json()
    x = graph_for("x@example.com")
    subscribe(x, sandbox, receiver, clientState="x")
    x.post("/me/events", json=event_body(attendees=[{"emailAddress": {"address": "y@example.com"}}]))
    created = wait_for(lambda: [v for v in receiver.values() if v["clientState"] == "y"], what="Y notified")
    assert created[0]["changeType"] == "created" and created[0]["subscriptionId"] == y_sub["id"]
    (copy,) = y.get("/me/events").json()["value"]
    y.post(f"/me/events/{copy['id']}/accept", json={})
    wait_for(lambda: [v for v in receiver.values() if v["clientState"] == "x" and v["changeType"] == "updated"],
             what="X told of the accept")


def test_lifecycle_notifications(sandbox: RunningSandbox, graph_for: Callable[..., httpx.Client],
                                 receiver: Receiver, ms: MicrosoftSandbox, http: httpx.Client) -> None:
    """Admin/Python lifecycle events POST {lifecycleEvent} to the lifecycle URL; subscriptionRemoved deletes."""
    g = graph_for("w@example.com")
    sub = subscribe(g, sandbox, receiver, lifecycleNotificationUrl=receiver.base_url + "/lifecycle").json()
    ms.send_lifecycle(sub["id"], "reauthorizationRequired")
    r = http.post(f"/admin/microsoft/subscriptions/{sub['id']}/lifecycle", json={"event": "missed"})
    assert r.status_code == 200
    ms.send_lifecycle(sub["id"], "subscriptionRemoved")
    got = wait_for(lambda: len(receiver.values("/lifecycle")) >= 3 and receiver.values("/lifecycle"),
                   what="lifecycle notifications")
    assert sorted(v["lifecycleEvent"] for v in got) == ["missed", "reauthorizationRequired", "subscriptionRemoved"]
    assert all(v["subscriptionId"] == sub["id"] and v["clientState"] == "secret-state" for v in got)
    assert g.get("/subscriptions").json()["value"] == []


def test_notification_faults_apply(sandbox: RunningSandbox, graph_for: Callable[..., httpx.Client],
                                   receiver: Receiver) -> None:
    """The shared notification faults apply: with duplicate rate 1 every change is delivered twice."""
    g = graph_for("w@example.com")
    subscribe(g, sandbox, receiver, changeType="created")
    sandbox.sandbox.faults.microsoft.notification_duplicate_rate = 1.0
    g.post("/me/events", json=event_body())
    values = wait_for(lambda: len(receiver.values()) >= 2 and receiver.values(), what="duplicate delivery")
    assert len(values) == 2 and values[0]["resourceData"] == values[1]["resourceData"]
