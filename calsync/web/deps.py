"""Request dependencies: the service context and the authenticated caller.

A request authenticates with ``Authorization: Bearer <api token>`` or, for the pages, the signed session cookie.
A bearer header wins when both are present. Neither means 401 with a message that says how to authenticate.
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
from calsync.web.sessions import COOKIE, SessionSigner

_bearer = HTTPBearer(auto_error=False, description="An API token: POST /api/v1/people/me/tokens")
_cookie = APIKeyCookie(name=COOKIE, auto_error=False, description="Set by POST /api/v1/session")

MISSING = "authentication required: send 'Authorization: Bearer <api token>', or sign in with POST /api/v1/session"


def service_context(request: Request) -> ServiceContext:
    ctx = request.app.state.ctx
    assert isinstance(ctx, ServiceContext)
    return ctx


def signer(request: Request) -> SessionSigner:
    value = request.app.state.signer
    assert isinstance(value, SessionSigner)
    return value


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
        person_id, fingerprint = signer(request).loads(cookie)
        return auth.principal_for_session(ctx, person_id, fingerprint)
    raise NotAuthenticated(MISSING)


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
