"""The ``calsync`` command line (Typer + Rich). Commands stay thin: they read settings and call services.

Bad input (a bad option value, a bad setting) ends with exit code 2 and one line on stderr saying what to fix.
"""

from __future__ import annotations

import functools
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from calsync.config import Settings
from calsync.errors import CalsyncError, ConfigurationError, InvalidInput

P = ParamSpec("P")
R = TypeVar("R")


class _App(typer.Typer):
    """Typer, with usage errors turned into one line and exit code 2 (Typer's default is a multi-line box)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("standalone_mode", False)
        try:
            result = super().__call__(*args, **kwargs)
        except typer.TyperException as exc:  # Typer's own (vendored) click exceptions: usage errors and the like
            if type(exc).__name__ == "NoArgsIsHelpError":
                raise SystemExit(2) from None  # the help text has been printed already
            ctx = getattr(exc, "ctx", None)
            command = getattr(ctx, "command_path", None) or "calsync"
            message = " ".join(exc.format_message().split())
            sys.stderr.write(f"error: {message} (see '{command} --help')\n")
            raise SystemExit(2 if exc.exit_code == 2 else exc.exit_code) from None
        except (typer.Abort, KeyboardInterrupt):
            sys.stderr.write("aborted\n")
            raise SystemExit(1) from None
        except typer.Exit as exc:
            raise SystemExit(exc.exit_code) from None
        if isinstance(result, int):
            raise SystemExit(result)
        return result


app = _App(help="calsync: your RSVPs in Google Calendar or Outlook, and calendar RSVPs back.", no_args_is_help=True)
db_app = typer.Typer(help="The database: apply migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()
err = Console(stderr=True)


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def one_line_errors(func: Callable[P, R]) -> Callable[P, R]:
    """calsync's own errors end a command with one line: exit 2 for bad input or settings, 1 otherwise."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (InvalidInput, ConfigurationError) as exc:
            raise _fail(exc.message, 2) from None
        except CalsyncError as exc:
            raise _fail(exc.message, 1) from None

    return wrapper


@app.callback()
def _root() -> None:
    """calsync: your RSVPs in Google Calendar or Outlook, and calendar RSVPs back."""


def _settings(**overrides: Any) -> Settings:
    """Settings from CALSYNC_* (read once, here at the edge); a bad value is one line and exit code 2."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "CALSYNC_" + "_".join(str(p) for p in first["loc"]).upper()
        raise _fail(f"{name}: {first['msg']}", 2) from None


@db_app.command("upgrade")
@one_line_errors
def db_upgrade() -> None:
    """Apply the database migrations (SQLite at <data_dir>/calsync.db unless CALSYNC_DATABASE_URL is set)."""
    from calsync.store.migrate import head_revision, upgrade

    settings = _settings()
    settings.ensure_data_dir()
    upgrade(settings.effective_database_url)
    console.print(f"database at revision [bold]{head_revision()}[/] ({_safe_url(settings.effective_database_url)})")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable url>"


def _serve(settings: Settings, banner: Callable[[], None] | None = None) -> None:
    import uvicorn

    from calsync.store.db import Database
    from calsync.web.app import create_app

    app_ = create_app(settings, database=Database(settings.effective_database_url, echo=settings.sql_echo))
    config = uvicorn.Config(app_, host=settings.host, port=settings.port, log_level=settings.log_level.lower())
    server = uvicorn.Server(config)
    if banner is not None:
        banner()
    try:
        server.run()
    except OSError as exc:
        raise _fail(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}", 2) from None


@app.command()
@one_line_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default CALSYNC_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="Port (default CALSYNC_PORT or 8000).")] = None,
) -> None:
    """Apply migrations, then serve the API (OpenAPI at /docs)."""
    from calsync.store.migrate import upgrade

    settings = _settings(host=host, port=port)
    settings.ensure_data_dir()
    upgrade(settings.effective_database_url)
    err.print(f"[green]calsync[/] serving on {settings.effective_base_url} (API docs at /docs); Ctrl-C stops")
    _serve(settings)


@app.command()
@one_line_errors
def demo(
    host: Annotated[str | None, typer.Option(help="Address to bind (default CALSYNC_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="Port (default CALSYNC_PORT or 8000).")] = None,
) -> None:
    """A fresh demo on SQLite in <data_dir>/demo/: seeded organization, people, events; then serve the API."""
    from calsync.services.context import ServiceContext
    from calsync.services.demo import seed_demo
    from calsync.store.db import Database
    from calsync.store.migrate import upgrade

    base = _settings(host=host, port=port)
    demo_dir = base.data_dir / "demo"
    if demo_dir.exists():
        shutil.rmtree(demo_dir)
    settings = base.model_copy(update={"data_dir": demo_dir, "database_url": None})
    settings.ensure_data_dir()
    upgrade(settings.effective_database_url)
    database = Database(settings.effective_database_url)
    try:
        seed = seed_demo(ServiceContext(database))
    finally:
        database.dispose()

    def banner() -> None:
        wide = Console(width=max(console.width, 170))  # never fold a token: people copy them from here
        table = Table(title=f"{seed.organization.name}: demo logins (password for all: {seed.logins[0].password})")
        for column in ("name", "role", "time zone", "email", "API token"):
            table.add_column(column, overflow="fold")
        for login in seed.logins:
            p = login.person
            table.add_row(p.name, p.role.value, p.timezone, p.email, login.token)
        wide.print(table)
        wide.print(
            f"[green]calsync demo[/] on {settings.effective_base_url}  (API docs: {settings.effective_base_url}/docs)"
        )
        wide.print(
            f"try: curl -H 'Authorization: Bearer {seed.logins[2].token}' {settings.effective_base_url}/api/v1/events"
        )

    _serve(settings, banner)


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Port to serve HTTPS on (0 picks a free one).")] = 8443,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    auto_consent: Annotated[
        bool, typer.Option("--auto-consent", help="Authorize at once for the login_hint account (no browser).")
    ] = False,
    seed: Annotated[int | None, typer.Option(help="Seed for fault randomness (replayable runs).")] = None,
) -> None:
    """Serve the local Google and Microsoft emulators over HTTPS and print their endpoint map as JSON."""
    from calsync.sandbox.app import Sandbox
    from calsync.sandbox.server import start_in_thread, write_endpoint_map

    settings = _settings()
    data_dir = settings.ensure_data_dir()
    running = start_in_thread(Sandbox(auto_consent=auto_consent, seed=seed), data_dir, host=host, port=port)
    write_endpoint_map(data_dir, running.endpoints)
    sys.stdout.write(json.dumps(running.endpoints) + "\n")
    sys.stdout.flush()
    map_path = Path(data_dir) / "sandbox.json"
    err.print(f"[green]sandbox[/] serving on {running.base_url} (map in {map_path}); Ctrl-C stops")
    try:
        while running.thread is not None and running.thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        running.stop()


def main() -> None:  # pragma: no cover - console script shim
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
