"""Request dependencies: the service context and the authenticated caller.

A request authenticates with ``Authorization: Bearer <api token>`` or, for the pages, the session cookie (a
random id naming a server-side session, :mod:`calsync.services.auth`). A bearer header wins when both are
present. Neither means 401 with a message that says how to authenticate.

A cookie-authenticated call with an unsafe method must also pass the API's CSRF check (same-origin ``Origin`` or
the ``X-CSRF-Token`` header, :func:`calsync.web.csrf.check_api`): the browser sends the cookie on other sites'
requests too, the Bearer header it never adds by itself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from calsync.core.model import Operator, Principal
from calsync.errors import NotAuthenticated, PermissionDenied
from calsync.services import auth, organizations
from calsync.services.context import ServiceContext
from calsync.services.password_links import LinkSettings
from calsync.web import csrf
from calsync.web.sessions import COOKIE, session_policy

_bearer = HTTPBearer(auto_error=False, description="An API token: POST /api/v1/people/me/tokens")
_cookie = APIKeyCookie(
    name=COOKIE,
    auto_error=False,
    description="Set by POST /api/v1/session. Unsafe methods also need the X-CSRF-Token header it returns "
    "(or a same-origin Origin).",
)

MISSING = "authentication required: send 'Authorization: Bearer <api token>', or sign in with POST /api/v1/session"


def service_context(request: Request) -> ServiceContext:
    ctx = request.app.state.ctx
    assert isinstance(ctx, ServiceContext)
    return ctx


Ctx = Annotated[ServiceContext, Depends(service_context)]


def current_principal(
    request: Request,
    ctx: Ctx,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    header = request.headers.get("authorization")
    if header is not None:
        if bearer is None:
            raise NotAuthenticated("the Authorization header must be 'Bearer <api token>'")
        return auth.authenticate_token(ctx, bearer.credentials)
    if cookie:
        actor = auth.session_principal(ctx, cookie, session_policy(request))
        csrf.check_api(request, cookie)
        request.state.session_id = cookie
        return actor
    raise NotAuthenticated(MISSING)


def current_session(request: Request) -> str | None:
    """The session id the caller authenticated with (None for a Bearer token); after :func:`current_principal`."""
    value = getattr(request.state, "session_id", None)
    return value if isinstance(value, str) else None


Actor = Annotated[Principal, Depends(current_principal)]


NOT_OPERATOR = (
    "only an operator token may manage organizations (the one 'calsync init' printed, or 'calsync org token'); "
    "a person's token or session cannot"
)


def current_operator(
    request: Request,
    ctx: Ctx,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Operator:
    """The operator behind ``Authorization: Bearer cso_…``. A person's valid token or session is 403, no valid
    credentials 401: an operator endpoint says who may use it, and nothing else."""
    if request.headers.get("authorization") is None and not cookie:
        raise NotAuthenticated("authentication required: send 'Authorization: Bearer <operator token>'")
    if bearer is not None:
        operator = organizations.authenticate_operator(ctx, bearer.credentials)
        if operator is not None:
            return operator
    current_principal(request, ctx, bearer, cookie)  # 401 for bad credentials, else a person: 403 below
    raise PermissionDenied(NOT_OPERATOR)


OperatorActor = Annotated[Operator, Depends(current_operator)]


def link_settings(request: Request) -> LinkSettings:
    value = request.app.state.runtime.links
    assert isinstance(value, LinkSettings)
    return value


Links = Annotated[LinkSettings, Depends(link_settings)]
