"""CSRF protection: the pages' forms carry a token bound to the browser and the session, checked on every POST;
the API's cookie-authenticated unsafe calls need the ``X-CSRF-Token`` header or a same-origin ``Origin``.

Why both: the session cookie is SameSite=Lax, which already stops most cross-site form posts, but Lax is a
browser policy, not a server check, and the sign-in form has no session at all (login CSRF would sign a victim
in as the attacker). So every browser gets a random **binding cookie** (``calsync_csrf``, HttpOnly, SameSite=Lax)
the first time it sees a page, and every form carries

    token = HMAC-SHA256(key, binding + "|" + session cookie value)

in a hidden ``csrf_token`` field. A POST is accepted only when the token recomputed from the request's own
cookies matches (constant-time compare). Another site can make the browser send the cookies but cannot read them
(HttpOnly, same-origin policy), so it cannot compute the token. Because the session cookie is part of the input,
signing in or out changes every token: a form rendered before sign-in cannot be replayed after it.

The binding cookie is rotated at sign-in and sign-out (together with the fresh session value) so nothing an
attacker planted before sign-in survives it (no session fixation).

**The API.** A request authenticated by the session cookie (not a Bearer token) with an unsafe method (POST, PUT,
PATCH, DELETE) is accepted only if its ``Origin`` is calsync's own (the public URL's, or the request's own
scheme and host), or it carries ``X-CSRF-Token: HMAC-SHA256(key, "api|" + session cookie)``, which
``POST /api/v1/session`` returns in that header and ``GET /api/v1/session`` in its body. A cross-site form or
``fetch`` cannot do either: browsers always send the attacker's ``Origin`` on cross-site POSTs, and the token
needs the HttpOnly cookie. Bearer-token calls are not affected (a browser never adds that header by itself). The
same ``Origin`` rule refuses a cross-site ``POST /api/v1/session`` (login CSRF).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import urllib.parse

from fastapi import Request, Response

from calsync.errors import PermissionDenied
from calsync.web.sessions import COOKIE, session_policy

BINDING_COOKIE = "calsync_csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_REFUSED = (
    "this request is authenticated by the session cookie but did not come from a calsync page: send the "
    "X-CSRF-Token header (from POST /api/v1/session or GET /api/v1/session), or use 'Authorization: Bearer <api token>'"
)
CROSS_SITE_SIGN_IN = "signing in from another site is not allowed; sign in on calsync's own page"
REFUSED = (
    "This form could not be accepted: it expired or did not come from a calsync page. "
    "Go back, reload the page and try again."
)


class CsrfRefused(PermissionDenied):
    """A POST without a valid token (HTTP 403)."""


def new_binding() -> str:
    return secrets.token_urlsafe(24)


def token_for(key: bytes, binding: str, session: str | None) -> str:
    """The token a form must carry for this browser binding and session cookie."""
    message = f"{binding}|{session or ''}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def binding_of(request: Request) -> str:
    """This browser's binding: its cookie, or a new value stored on the request state to be set in the response."""
    fresh = getattr(request.state, "csrf_binding", None)
    if isinstance(fresh, str):
        return fresh
    existing = request.cookies.get(BINDING_COOKIE)
    if existing and 16 <= len(existing) <= 100:
        return existing
    value = new_binding()
    request.state.csrf_binding = value
    return value


def session_of(request: Request) -> str | None:
    """The session cookie value this request will be answered under (a just-issued one wins)."""
    fresh = getattr(request.state, "session_cookie", None)
    if isinstance(fresh, str):
        return fresh
    return request.cookies.get(COOKIE)


def form_token(key: bytes, request: Request) -> str:
    return token_for(key, binding_of(request), session_of(request))


def check(key: bytes, request: Request, submitted: str | None) -> None:
    """Refuse the request unless ``submitted`` is the token for the request's own cookies."""
    binding = request.cookies.get(BINDING_COOKIE)
    if not binding or not submitted:
        raise CsrfRefused(REFUSED)
    expected = token_for(key, binding, request.cookies.get(COOKIE))
    if not hmac.compare_digest(expected, submitted):
        raise CsrfRefused(REFUSED)


def set_binding_cookie(request: Request, response: Response) -> None:
    """Send the binding cookie if this request created (or rotated) one."""
    fresh = getattr(request.state, "csrf_binding", None)
    if isinstance(fresh, str):
        response.set_cookie(
            BINDING_COOKIE,
            fresh,
            max_age=int(session_policy(request).lifetime.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=bool(request.app.state.secure_cookies),
            path="/",
        )


def rotate(request: Request) -> None:
    """A new binding for this browser (at sign-in and sign-out); the response must then carry it."""
    request.state.csrf_binding = new_binding()


def key_of(request: Request) -> bytes:
    """The CSRF HMAC key (derived from the session key file at start-up, so tokens survive restarts)."""
    key = request.app.state.csrf_key
    assert isinstance(key, bytes)
    return key


def api_token(key: bytes, session: str) -> str:
    """The ``X-CSRF-Token`` value for API calls made with this session cookie."""
    return hmac.new(key, f"api|{session}".encode(), hashlib.sha256).hexdigest()


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(request: Request) -> bool | None:
    """Whether the request's ``Origin`` is calsync's own; None when it sent none."""
    origin = request.headers.get("origin")
    if origin is None:
        return None
    own = {_origin(str(request.base_url)), str(request.app.state.public_origin)}
    return origin.strip().lower() in own


def check_api(request: Request, session: str) -> None:
    """Refuse an unsafe cookie-authenticated API call that is neither same-origin nor carries the header token."""
    if request.method in SAFE_METHODS:
        return
    if same_origin(request):
        return
    submitted = request.headers.get(HEADER)
    if submitted and hmac.compare_digest(api_token(key_of(request), session), submitted):
        return
    raise CsrfRefused(API_REFUSED)


def check_sign_in_origin(request: Request) -> None:
    """``POST /api/v1/session`` from another site's page is refused (no login CSRF); programs send no Origin."""
    if same_origin(request) is False:
        raise CsrfRefused(CROSS_SITE_SIGN_IN)
