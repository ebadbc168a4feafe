"""The sandbox's shared shell: TLS with its own CA, the admin API for faults and the clock."""

from __future__ import annotations

import ssl

import httpx

from calsync.sandbox.server import RunningSandbox


def test_serves_https_trusted_only_through_its_ca(sandbox: RunningSandbox) -> None:
    """A client that trusts ca.pem connects; one that trusts only the system CAs is refused."""
    ok = httpx.get(sandbox.base_url + "/", verify=ssl.create_default_context(cafile=str(sandbox.tls.ca_cert)))
    assert ok.status_code == 200
    try:
        httpx.get(sandbox.base_url + "/", verify=True)
    except httpx.ConnectError as exc:
        assert "CERTIFICATE_VERIFY_FAILED" in str(exc)
    else:
        raise AssertionError("an untrusted client connected")


def test_admin_sets_and_refuses_faults(sandbox: RunningSandbox) -> None:
    """PUT /admin/faults/google changes the plan; unknown keys and providers are refused with a reason."""
    with httpx.Client(verify=ssl.create_default_context(cafile=str(sandbox.tls.ca_cert))) as c:
        r = c.put(sandbox.base_url + "/admin/faults/google", json={"latency_ms": 5, "error_rate": 0.5})
        assert r.status_code == 200 and r.json()["error_rate"] == 0.5
        assert sandbox.sandbox.faults.google.latency_ms == 5
        bad = c.put(sandbox.base_url + "/admin/faults/google", json={"explode": True})
        assert bad.status_code == 400 and "explode" in bad.json()["error"]
        assert c.put(sandbox.base_url + "/admin/faults/yahoo", json={}).status_code == 404


def test_clock_only_moves_forward(sandbox: RunningSandbox) -> None:
    """Advancing the clock shifts sandbox time; a negative step is refused."""
    before = sandbox.sandbox.clock.now()
    with httpx.Client(verify=ssl.create_default_context(cafile=str(sandbox.tls.ca_cert))) as c:
        r = c.post(sandbox.base_url + "/admin/clock/advance", json={"seconds": 3600})
        assert r.status_code == 200 and r.json()["now"] >= before + 3600
        assert c.post(sandbox.base_url + "/admin/clock/advance", json={"seconds": -1}).status_code == 400
