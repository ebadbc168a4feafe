"""Who is on the other end of a request: the client address the sign-in limiter counts.

The address is the TCP peer's, unless the peer is a proxy listed in ``CALSYNC_TRUSTED_PROXIES``: then calsync
reads ``X-Forwarded-For`` from the right (the hop the trusted proxy itself added) and takes the first address that
is not a trusted proxy. Anything a client wrote further left is never believed, so rotating the header does not
make a new client. With no trusted proxies (the default) the header is ignored entirely.

``calsync serve`` runs uvicorn with its own proxy-header handling off (uvicorn's default trusts
``X-Forwarded-For`` from 127.0.0.1 and would rewrite the peer before calsync sees it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from fastapi import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, proxies: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def resolve(peer: str | None, forwarded_for: Sequence[str], proxies: Sequence[Network]) -> str:
    """The client address for a request from ``peer`` carrying these ``X-Forwarded-For`` headers."""
    if not peer:
        return UNKNOWN
    current = _ip(peer)
    if current is None or not proxies or not _trusted(current, proxies):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            # Garbage in the chain: the last address we could vouch for is the proxy that passed it on.
            return str(current)
        current = address
        if not _trusted(address, proxies):
            return str(address)
    return str(current)


def client_address(request: Request) -> str:
    proxies: Sequence[Network] = getattr(request.app.state, "trusted_proxies", ())
    peer = request.client.host if request.client else None
    return resolve(peer, request.headers.getlist("x-forwarded-for"), proxies)
