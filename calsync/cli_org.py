"""``calsync init`` and ``calsync org …``: install calsync and run it for several organizations.

Registered on the main app by :mod:`calsync.cli` (kept apart so the install commands and the rest of the CLI
change independently). Whoever can reach the database is an operator, so these commands act as one without a
token; over HTTP the same operations need an operator token (``/api/v1/organizations``, docs/api.md).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from calsync.config import Settings
from calsync.core import validation
from calsync.core.model import Operator
from calsync.errors import Conflict
from calsync.services.password_links import Delivery, Invitation

P = ParamSpec("P")
R = TypeVar("R")


def _cli() -> ModuleType:
    """calsync.cli, imported when a command runs (it imports this module to register the commands, so importing
    it at the top would be circular, also under ``python -m calsync.cli``)."""
    import calsync.cli

    return calsync.cli


def one_line_errors(func: Callable[P, R]) -> Callable[P, R]:
    """calsync.cli's one-line errors (exit 2 for bad input or settings), applied when the command runs."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        wrapped: Callable[P, R] = _cli().one_line_errors(func)
        return wrapped(*args, **kwargs)

    return wrapper


def _fail(message: str, code: int) -> typer.Exit:
    failure: typer.Exit = _cli()._fail(message, code)
    return failure


def _settings() -> Settings:
    settings: Settings = _cli()._settings()
    return settings


def _safe_url(url: str) -> str:
    return str(_cli()._safe_url(url))


org_app = typer.Typer(help="Organizations of this installation: create, list, disable, enable.", no_args_is_help=True)

CLI_OPERATOR = Operator(token_id=0, label="calsync CLI")
"""The CLI's operator: it has the database itself, so it needs no token (every org command acts as this one)."""


def _read_password(password_file: Path | None) -> str:
    """From the file (its first line), or a hidden prompt on a terminal; never from a pipe without --password-file
    (a script that forgot the option must not hang or read a password from somewhere unexpected)."""
    if password_file is not None:
        try:
            text = password_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise _fail(f"--password-file: cannot read {password_file}: {exc.strerror}", 2) from None
        password = text.splitlines()[0] if text.splitlines() else ""
    elif sys.stdin.isatty():
        password = typer.prompt("password for the administrator", hide_input=True, confirmation_prompt=True)
    else:
        raise _fail("no terminal to ask for the administrator's password: give --password-file FILE", 2)
    validation.password(password, field="the administrator's password")
    return password


def _initialized(url: str) -> bool:
    """Whether the database already holds an installation (an organization or an operator token), looked at
    before any migration runs, so a refused init changes nothing at all."""
    from sqlalchemy import inspect, literal_column, select, table

    from calsync.store.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            for name in ("organizations", "operator_tokens"):
                if name not in tables:
                    continue
                if conn.execute(select(literal_column("1")).select_from(table(name)).limit(1)).first() is not None:
                    return True
        return False
    finally:
        engine.dispose()


@one_line_errors
def init(
    organization: Annotated[str, typer.Option("--organization", help="Name of the first organization.")],
    admin_email: Annotated[str, typer.Option("--admin-email", help="Email of its first administrator.")],
    admin_name: Annotated[str | None, typer.Option("--admin-name", help="Default: the part before '@'.")] = None,
    admin_timezone: Annotated[str, typer.Option("--admin-timezone", help="IANA time zone.")] = "UTC",
    password_file: Annotated[
        Path | None, typer.Option("--password-file", help="Read the administrator's password from this file.")
    ] = None,
) -> None:
    """Install calsync on an empty database: apply migrations, create the first organization (Events on) and its
    administrator, and print an operator API token once. An initialized database is refused, unchanged."""
    from sqlalchemy.exc import SQLAlchemyError

    from calsync.crypto import TokenCipher
    from calsync.services.context import ServiceContext
    from calsync.services.organizations import NewAdmin, check_install, initialize
    from calsync.services.passwords import PasswordCost, Passwords
    from calsync.store.db import Database
    from calsync.store.migrate import upgrade

    settings = _settings()
    url = settings.effective_database_url
    password = _read_password(password_file)
    admin = NewAdmin(admin_email, admin_name or admin_email.partition("@")[0], admin_timezone)
    passwords = Passwords(
        PasswordCost(settings.password_time_cost, settings.password_memory_kib, settings.password_parallelism)
    )
    # bad input ends here, before the database is touched
    install = check_install(organization, admin, password, passwords)
    try:
        settings.ensure_data_dir()
        if _initialized(url):
            raise _fail(
                f"the database at {_safe_url(url)} is initialized already; nothing changed "
                "(add organizations with 'calsync org create')",
                2,
            )
        upgrade(url)
        if settings.token_keys is None:
            # The installation's token key file: the commands that follow (serve, worker, org, keys rotate) refuse
            # to make one themselves, since a new key would leave stored tokens unreadable.
            TokenCipher.for_data_dir(settings.ensure_data_dir())
        db = Database(url)
        try:
            try:
                done = initialize(ServiceContext(db=db, passwords=passwords), install)
            except Conflict as exc:  # another init won the race
                raise _fail(exc.message, 2) from None
        finally:
            db.dispose()
    except SQLAlchemyError as exc:
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["error"])[0]
        raise _fail(f"cannot use the database at {_safe_url(url)} ({first}); check CALSYNC_DATABASE_URL", 2) from None
    _cli().console.print(
        f"calsync initialized at {_safe_url(url)}: organization [bold]{escape(done.organization.name)}[/] "
        f"(id {done.organization.id}), administrator {escape(done.admin.email)}",
        highlight=False,
        soft_wrap=True,
    )
    _cli().console.print(
        "operator API token (shown once; it creates and disables organizations, and reads nothing else):",
        soft_wrap=True,
    )
    sys.stdout.flush()
    sys.stdout.write(done.operator_token + "\n")
    sys.stdout.flush()


def _print_invitation(invitation: Invitation) -> None:
    if invitation.delivery is Delivery.SENT:
        _cli().console.print(f"invitation mailed to {escape(invitation.email)}", highlight=False)
        return
    _cli().console.print(
        f"invitation for {escape(invitation.email)} not mailed ({escape(invitation.detail)}); "
        f"send them this link (works once, until {invitation.expires_at:%Y-%m-%d %H:%M} UTC):",
        highlight=False,
        soft_wrap=True,
    )
    sys.stdout.flush()
    sys.stdout.write(f"{invitation.url}\n")
    sys.stdout.flush()


@org_app.command("create")
@one_line_errors
def org_create(
    name: Annotated[str, typer.Argument(help="Name of the new organization (unique).")],
    admin_email: Annotated[str, typer.Option("--admin-email", help="Email of its first administrator.")],
    admin_name: Annotated[str | None, typer.Option("--admin-name", help="Default: the part before '@'.")] = None,
    admin_timezone: Annotated[str, typer.Option("--admin-timezone", help="IANA time zone.")] = "UTC",
) -> None:
    """Create an organization (Events on) and invite its first administrator with a one-time set-password link
    (mailed through CALSYNC_SMTP_URL, or printed here when no mail server is configured)."""
    from calsync.services.organizations import NewAdmin, create_with_admin

    settings = _settings()
    admin = NewAdmin(admin_email, admin_name or admin_email.partition("@")[0], admin_timezone)
    with _cli()._runtime_or_exit(settings) as runtime:
        try:
            org, person, invitation = create_with_admin(runtime.service, runtime.links, CLI_OPERATOR, name, admin)
        except Conflict as exc:  # a taken name or email is bad input here: exit 2
            raise _fail(exc.message, 2) from None
    _cli().console.print(
        f"organization [bold]{escape(org.name)}[/] created (id {org.id}), administrator {escape(person.email)}",
        highlight=False,
        soft_wrap=True,
    )
    _print_invitation(invitation)


@org_app.command("list")
@one_line_errors
def org_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every organization: id, name, modules, created, disabled."""
    from calsync.services.organizations import list_organizations

    settings = _settings()
    with _cli()._runtime_or_exit(settings) as runtime:
        found = list_organizations(runtime.service, CLI_OPERATOR)
    if as_json:
        rows = [
            {
                "id": o.id,
                "name": o.name,
                "modules": sorted(m.value for m in o.modules),
                "created_at": o.created_at.isoformat(),
                "disabled_at": None if o.disabled_at is None else o.disabled_at.isoformat(),
            }
            for o in found
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table(title="organizations")
    for column in ("id", "name", "modules", "created", "state"):
        table.add_column(column, overflow="fold")
    for o in found:
        state = "enabled" if o.disabled_at is None else f"[red]disabled[/] {o.disabled_at:%Y-%m-%d %H:%M}"
        modules = ", ".join(sorted(m.value for m in o.modules)) or "none"
        table.add_row(str(o.id), escape(o.name), modules, f"{o.created_at:%Y-%m-%d}", state)
    _cli().console.print(table, highlight=False)


def _switch(name: str, disabled: bool) -> None:
    from calsync.errors import NotFound
    from calsync.services.organizations import find_organization, set_disabled

    settings = _settings()
    with _cli()._runtime_or_exit(settings) as runtime:
        try:
            org = find_organization(runtime.service, CLI_OPERATOR, name)
        except NotFound as exc:  # a name that is not there is bad input: exit 2
            raise _fail(exc.message, 2) from None
        was = org.disabled
        org = set_disabled(runtime.service, CLI_OPERATOR, org.id, disabled)
    if was == disabled:
        _cli().console.print(f"organization {escape(org.name)} was {'disabled' if disabled else 'enabled'} already")
    elif disabled:
        _cli().console.print(
            f"organization {escape(org.name)} disabled: its people cannot sign in or use the API, its calendars "
            "are not synced; nothing was deleted ('calsync org enable' undoes it)",
            highlight=False,
            soft_wrap=True,
        )
    else:
        _cli().console.print(f"organization {escape(org.name)} enabled again", highlight=False)


@org_app.command("disable")
@one_line_errors
def org_disable(name: Annotated[str, typer.Argument(help="The organization's name (or id).")]) -> None:
    """Disable an organization: its people can no longer sign in or use their tokens, and workers stop syncing its
    calendars. Nothing is deleted."""
    _switch(name, True)


@org_app.command("enable")
@one_line_errors
def org_enable(name: Annotated[str, typer.Argument(help="The organization's name (or id).")]) -> None:
    """Enable a disabled organization again (sign-in, API and sync resume where they were)."""
    _switch(name, False)


@org_app.command("token")
@one_line_errors
def org_token(label: Annotated[str, typer.Option(help="A label to recognise it by.")] = "operator token") -> None:
    """Create another operator API token (shown once) for the /api/v1/organizations endpoints."""
    from calsync.services.organizations import new_operator_token

    settings = _settings()
    with _cli()._runtime_or_exit(settings) as runtime:
        secret = new_operator_token(runtime.service, label)
    _cli().err.print("operator API token (shown once):")
    sys.stdout.write(secret + "\n")
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(org_app, name="org")


__all__ = ["register"]
