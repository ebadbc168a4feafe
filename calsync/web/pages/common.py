"""What every page shares: templates, the signed-in viewer, CSRF-checked forms, and HTML error pages.

Pages authenticate with the session cookie only (the API's bearer tokens are for programs). Every page resolves
the viewer (person, organization, role) first and passes the :class:`~calsync.core.model.Principal` to the
services, which decide what the viewer may see: another organization's objects are 404, exactly as in the API.

Errors become pages, not JSON: :class:`PageRoute` renders the error template with the status the API would use
(:func:`calsync.web.errors.status_for`), sends someone who is not signed in to the sign-in page, and shows the
seeds' feature-availability message when the Events module is off.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from calsync.core.model import Organization, Person, Principal, Role
from calsync.errors import CalsyncError, FeatureDisabled, NotAuthenticated
from calsync.services import auth, organizations, people
from calsync.services.badges import FEATURE_UNAVAILABLE
from calsync.services.connections import CalendarContext
from calsync.services.context import ServiceContext
from calsync.services.runtime import Runtime
from calsync.web import csrf
from calsync.web.errors import status_for
from calsync.web.pages import formatting
from calsync.web.sessions import COOKIE, session_policy

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE.parent / "templates"
STATIC_DIR = HERE.parent / "static"

log = logging.getLogger(__name__)
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
formatting.install(templates.env)


def runtime(request: Request) -> Runtime:
    value = request.app.state.runtime
    assert isinstance(value, Runtime)
    return value


def ctx(request: Request) -> ServiceContext:
    return runtime(request).service


def calendar(request: Request) -> CalendarContext:
    return runtime(request).calendar


def csrf_key(request: Request) -> bytes:
    """The CSRF HMAC key: derived from the session key file (so it survives restarts) when the app is built."""
    return csrf.key_of(request)


# ---- who is asking ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """The signed-in person as the templates need them."""

    principal: Principal
    person: Person
    organization: Organization

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def is_admin(self) -> bool:
        return self.principal.role is Role.ADMIN

    @property
    def sees_admin(self) -> bool:
        return self.principal.role in (Role.ADMIN, Role.SUPPORT)

    @property
    def can_create_events(self) -> bool:
        return self.principal.role in (Role.ADMIN, Role.ORGANIZER)


def viewer(request: Request) -> Viewer:
    """The signed-in person, or :class:`NotAuthenticated` (the page then redirects to sign-in)."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise NotAuthenticated("sign in to see this page")
    service = ctx(request)
    actor = auth.session_principal(service, cookie, session_policy(request))
    return Viewer(actor, people.me(service, actor), organizations.my_organization(service, actor))


def optional_viewer(request: Request) -> Viewer | None:
    try:
        return viewer(request)
    except (NotAuthenticated, CalsyncError):
        return None


# ---- forms -----------------------------------------------------------------------------------------------------


class Form:
    """A submitted form whose CSRF token was checked; values are stripped strings."""

    def __init__(self, values: dict[str, list[str]]) -> None:
        self._values = values

    def get(self, name: str, default: str = "") -> str:
        found = self._values.get(name)
        return found[-1].strip() if found else default

    def getlist(self, name: str) -> list[str]:
        return [v.strip() for v in self._values.get(name, [])]

    def has(self, name: str) -> bool:
        return name in self._values


async def checked_form(request: Request) -> Form:
    """The POSTed form, after the CSRF check (a missing or wrong token is 403)."""
    data = await request.form()
    values: dict[str, list[str]] = {}
    for name, value in data.multi_items():
        if isinstance(value, str):
            values.setdefault(name, []).append(value)
    submitted = values.get(csrf.FIELD, [None])[-1]
    csrf.check(csrf_key(request), request, submitted)
    return Form(values)


def safe_next(value: str | None, default: str = "/events") -> str:
    """A local path to return to after a form, never another site (``//host`` and schemes are refused)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urllib.parse.urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def redirect(url: str) -> RedirectResponse:
    """After a successful POST: 303 See Other, so a reload does not submit again."""
    return RedirectResponse(url, status_code=303)


# ---- rendering -------------------------------------------------------------------------------------------------


SECURITY_HEADERS = {
    "Cache-Control": "no-store",  # pages show personal state; never serve them from a shared cache
    "X-Frame-Options": "DENY",  # no clickjacking of the RSVP, Resync and Disconnect buttons
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def render(
    request: Request,
    name: str,
    view: Viewer | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    context.update(
        viewer=view,
        csrf_field=csrf.FIELD,
        csrf_token=csrf.form_token(csrf_key(request), request),
        path=request.url.path,
    )
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


ERROR_TITLES = {
    400: "That did not work",
    403: "Not allowed",
    404: "Not found",
    409: "That cannot be done now",
    422: "Please check what you entered",
    502: "The calendar provider did not answer as expected",
}


def error_page(request: Request, exc: CalsyncError) -> Response:
    if isinstance(exc, NotAuthenticated):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        query = urllib.parse.urlencode({"next": target}) if request.method == "GET" else ""
        response: Response = redirect("/signin" + (f"?{query}" if query else ""))
        if request.cookies.get(COOKIE):
            response.delete_cookie(COOKIE, path="/")
        return response
    status, _code = status_for(exc)
    view = optional_viewer(request)
    if isinstance(exc, FeatureDisabled):
        return render(request, "feature.html", view, status_code=status, message=FEATURE_UNAVAILABLE)
    title = ERROR_TITLES.get(status, "Something went wrong")
    return render(request, "error.html", view, status_code=status, title=title, message=exc.message)


def sentence(text: str) -> str:
    """``text`` as a sentence: a capital first letter and a final full stop (services' messages start lower-case,
    the API's convention; a page shows them on their own)."""
    text = text.strip()
    if not text:
        return text
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def message_page(
    request: Request,
    title: str,
    message: str,
    *,
    status: int,
    link: str,
    link_text: str,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page with one message and one link, in the site's layout (the OAuth connect refusals use it)."""
    view = optional_viewer(request)
    response = render(
        request,
        "message.html",
        view,
        status_code=status,
        title=title,
        message=sentence(message),
        link=link,
        link_text=link_text,
    )
    response.headers.update(headers or {})
    csrf.set_binding_cookie(request, response)
    return response


class PageRoute(APIRoute):
    """A route whose failures are HTML pages, and whose responses carry the CSRF binding cookie when new."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except CalsyncError as exc:
                response = error_page(request, exc)
            except RequestValidationError:
                view = optional_viewer(request)
                response = render(
                    request,
                    "error.html",
                    view,
                    status_code=404,
                    title="Not found",
                    message="There is no such page. Check the address, or start from Events.",
                )
            except Exception:  # a page answers a page, even for a bug: never the API's JSON
                log.exception("unhandled error on page %s", request.url.path)
                response = render(
                    request,
                    "error.html",
                    None,
                    status_code=500,
                    title="Something went wrong",
                    message="This is a fault in calsync, not something you did; the server log has the details.",
                )
            csrf.set_binding_cookie(request, response)
            return response

        return handler
