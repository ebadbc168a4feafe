"""The ``calsync`` command line (Typer + Rich). Commands stay thin: they read settings and call services.

Bad input (a bad option value, a bad setting) ends with exit code 2 and one line on stderr saying what to fix.
"""

from __future__ import annotations

import contextlib
import functools
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from calsync.config import Settings, load_settings
from calsync.errors import CalsyncError, ConfigurationError, InvalidInput

if TYPE_CHECKING:
    from calsync.services.diagnose import DiagnoseOptions
    from calsync.services.runtime import Runtime

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
keys_app = typer.Typer(help="Token encryption keys: rotate them.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
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
    """Settings from CALSYNC_* (read once, here at the edge); a bad value is one line and exit code 2. Logging is
    set up here too, so every command masks secrets in its logs the same way (calsync.logs)."""
    from calsync.logs import configure_logging

    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "CALSYNC_" + "_".join(str(p) for p in first["loc"]).upper()
        raise _fail(f"{name}: {first['msg']}", 2) from None
    configure_logging(settings.log_level, settings.log_format, floor="WARNING")  # serve/worker: their own level
    return settings


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


def _serve(
    settings: Settings,
    sock: socket.socket,
    banner: Callable[[], None] | None = None,
    *,
    runtime: Runtime | None = None,
    sync: bool = True,
) -> None:
    """Serve the web app on ``sock`` (bound already, so a taken port is known before anything starts), with the
    sync workers (and their housekeeping) in the same process unless ``sync`` is off."""
    import uvicorn

    from calsync.logs import configure_logging
    from calsync.services.runtime import build_runtime
    from calsync.web.app import create_app, server_config

    runtime = runtime or build_runtime(settings)
    app_ = create_app(settings, runtime=runtime)
    config = server_config(app_, settings)
    configure_logging(settings.log_level, settings.log_format)  # uvicorn.Config set up its loggers: route them to ours
    server = uvicorn.Server(config)
    stop = threading.Event()
    worker = threading.Thread(target=runtime.worker().run, args=(stop,), name="calsync-worker", daemon=True)
    if banner is not None:
        banner()
    if sync:
        worker.start()
    try:
        server.run(sockets=[sock])
    finally:
        stop.set()
        if sync:
            worker.join(timeout=30)
        runtime.close()
        sock.close()


def _bound(settings: Settings, sock: socket.socket) -> Settings:
    """``settings`` with the port actually bound (port 0, or the demo's fallback), so URLs built from it work."""
    port = int(sock.getsockname()[1])
    return settings if port == settings.port else settings.model_copy(update={"port": port})


@app.command()
@one_line_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default CALSYNC_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="Port (default CALSYNC_PORT or 8000).")] = None,
    sync: Annotated[
        bool, typer.Option("--sync/--no-sync", help="Run a sync worker in this process too (default) or not.")
    ] = True,
) -> None:
    """Apply migrations, then serve the web app and API (OpenAPI at /docs, /healthz, /readyz, /metrics) with a sync
    worker in-process (--no-sync: web only, for layouts with separate `calsync worker` processes)."""
    from calsync.cli_demo import bind
    from calsync.store.migrate import upgrade

    settings = _settings(host=host, port=port)
    sock = bind(settings.host, settings.port, fallback=False)
    settings = _bound(settings, sock)
    settings.ensure_data_dir()
    upgrade(settings.effective_database_url)
    err.print(
        f"[green]calsync[/] serving on {settings.effective_base_url} (API docs at /docs, metrics at /metrics"
        f"{'' if sync else '; no sync worker in this process'}); Ctrl-C stops",
        highlight=False,
        soft_wrap=True,
    )
    _serve(settings, sock, sync=sync)


@app.command()
@one_line_errors
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=256, help="Connections synced at once (default CALSYNC_WORKER_CONCURRENCY)."),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Serve Prometheus /metrics on this port (0: any free one; unset: none)."),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Address the metrics endpoint binds to.")] = "127.0.0.1",
) -> None:
    """Run sync workers only (as many processes on as many hosts as the database serves); Ctrl-C or SIGTERM stops.
    The database must be migrated already (`calsync db upgrade`, or `calsync serve` did it)."""
    import signal

    from calsync.logs import configure_logging
    from calsync.services.runtime import build_runtime

    settings = _settings() if concurrency is None else _settings(worker_concurrency=concurrency)
    configure_logging(settings.log_level, settings.log_format)
    _require_database(settings)
    _require_keys(settings)
    runtime = build_runtime(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    w = runtime.worker()
    endpoint = None
    if metrics_port is not None:
        from calsync.worker_metrics import serve_metrics

        endpoint = serve_metrics(runtime, metrics_host, metrics_port)
    where = f"; metrics at {endpoint.url}" if endpoint else ""
    err.print(
        f"[green]calsync worker[/] {w.id} on {_safe_url(settings.effective_database_url)} "
        f"({settings.worker_concurrency} at once{where})",
        highlight=False,
        soft_wrap=True,
    )
    try:
        w.run(stop)
    finally:
        if endpoint is not None:
            endpoint.close()
        runtime.close()


@app.command()
@one_line_errors
def demo(
    host: Annotated[str | None, typer.Option(help="Address to bind (default CALSYNC_HOST or 127.0.0.1).")] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="Port (default CALSYNC_PORT or 8000; taken: any free one).")
    ] = None,
    sandbox_port: Annotated[
        int, typer.Option(min=0, max=65535, help="HTTPS port of the sandbox (0: any; taken: any free one).")
    ] = 8443,
    reset: Annotated[bool, typer.Option("--reset", help="Start over: delete the demo's data first.")] = False,
) -> None:
    """The whole system in one process: SQLite in <data_dir>/demo/ (kept between runs; --reset starts over), the
    sandbox standing in for Google and Microsoft, the web app, sync workers; a seeded organization, people and
    events. One demo per data directory: a second one stops with one line and changes nothing."""
    from calsync import cli_demo

    base = _settings(host=host, port=port)
    demo_dir = base.data_dir / "demo"
    with cli_demo.demo_lock(demo_dir):
        if reset:
            cli_demo.reset(demo_dir)
        _run_demo(base, demo_dir, sandbox_port)


def _run_demo(base: Settings, demo_dir: Path, sandbox_port: int) -> None:
    from calsync import cli_demo
    from calsync.sandbox.app import Sandbox
    from calsync.sandbox.server import start_in_thread, write_endpoint_map
    from calsync.services.demo import resume_demo, seed_demo
    from calsync.services.runtime import build_runtime
    from calsync.store.migrate import upgrade

    sock = cli_demo.bind(base.host, base.port, fallback=True)
    kept = cli_demo.demo_settings(demo_dir)
    # Built like every other command's settings, from the kept file (so `calsync status` & co. see the same).
    settings = _bound(load_settings(data_dir=demo_dir, host=base.host, port=base.port, database_url=""), sock)
    if not cli_demo.port_free("127.0.0.1", sandbox_port):
        sandbox_port = 0
    # The sandbox stands in for Google and Microsoft, with calsync's OAuth clients registered there (as an
    # operator registers them at the real providers). The person sees the sandbox's consent page.
    running = start_in_thread(Sandbox(), demo_dir, host="127.0.0.1", port=sandbox_port)
    try:
        base_url = settings.effective_base_url
        running.sandbox.google.register_client(
            kept["CALSYNC_GOOGLE_CLIENT_ID"],
            kept["CALSYNC_GOOGLE_CLIENT_SECRET"],
            [f"{base_url}/oauth/google/callback"],
        )
        running.sandbox.microsoft.register_client(
            kept["CALSYNC_MICROSOFT_CLIENT_ID"],
            kept["CALSYNC_MICROSOFT_CLIENT_SECRET"],
            [f"{base_url}/oauth/microsoft/callback"],
        )
        write_endpoint_map(demo_dir, running.endpoints)
        upgrade(settings.effective_database_url)
        runtime = build_runtime(settings)
        resumed = resume_demo(runtime.service)
        seed = resumed or seed_demo(runtime.service)

        def banner() -> None:
            wide = Console(width=max(console.width, 170))  # never fold a token: people copy them from here
            title = f"{seed.organization.name}: demo logins (password for all: {seed.logins[0].password})"
            table = Table(title=title)
            for column in ("name", "role", "time zone", "email", "API token"):
                table.add_column(column, overflow="fold")
            for login in seed.logins:
                p = login.person
                table.add_row(p.name, p.role.value, p.timezone, p.email, login.token)
            wide.print(table)
            url = settings.effective_base_url
            if resumed is not None:
                wide.print(
                    f"kept the data of the last run in {demo_dir} (--reset starts over); the sandbox's calendars "
                    "start empty, so reconnect calendars in Profile → Calendar",
                    highlight=False,
                )
            wide.print(f"[green]calsync demo[/] on {url}  (sign in at {url}/signin; API docs at {url}/docs)")
            wide.print(
                f"sandbox Google Calendar and Outlook: {running.base_url}  (calendar pages appear there once you "
                f"connect; e.g. {running.base_url}/calendar/google/{seed.logins[2].person.email})"
            )
            wide.print(f"try: curl -H 'Authorization: Bearer {seed.logins[2].token}' {url}/api/v1/events")
            wide.print(f"other calsync commands (status, diagnose, config, ...) in another shell: "
                       f"export CALSYNC_DATA_DIR={demo_dir}", highlight=False, soft_wrap=True)

        _serve(settings, sock, banner, runtime=runtime)
    finally:
        running.stop()


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


@keys_app.command("rotate")
@one_line_errors
def keys_rotate(
    keep_old: Annotated[
        bool, typer.Option("--keep-old", help="Keep the old keys in the key file (default: retire them).")
    ] = False,
) -> None:
    """Re-encrypt every stored OAuth token under a new key. Safe while `serve` and workers run.

    With the key file (<data_dir>/token-keys.json) a new primary key is added, every token is resealed under it,
    and the old keys are retired unless --keep-old. With CALSYNC_TOKEN_KEYS, put the new key first in that
    variable, run this, then drop the old keys from it.
    """

    from calsync.crypto import KeyFile
    from calsync.services.connections import rotate_keys

    settings = _settings()
    with _runtime_or_exit(settings) as runtime:
        key_file = None if settings.token_keys else KeyFile(settings.ensure_data_dir() / "token-keys.json")
        report = rotate_keys(runtime.calendar, key_file, retire=not keep_old)
    retired = ", ".join(report.retired) if report.retired else "none"
    note = "; now remove the old keys from CALSYNC_TOKEN_KEYS" if settings.token_keys else ""
    console.print(
        f"token keys rotated: primary key {report.new_key_id}; {report.resealed} connection(s) re-encrypted; "
        f"retired: {retired}{note}",
        highlight=False,
        soft_wrap=True,
    )


KEY_FILE = "token-keys.json"


def _require_database(settings: Settings) -> None:
    """Refuse (one line, exit 2) a database that is missing or not migrated, naming the setting to fix: a command
    run with a wrong CALSYNC_DATA_DIR or CALSYNC_DATABASE_URL must not leave an empty database behind. A malformed
    CALSYNC_TOKEN_KEYS is reported first: it is the setting to fix whatever else is wrong."""
    from sqlalchemy.exc import SQLAlchemyError

    from calsync.store.db import make_engine
    from calsync.store.migrate import current_revision, head_revision

    if settings.token_keys:
        _require_keys(settings)
    url = settings.effective_database_url
    if not settings.database_url:
        path = settings.data_dir / "calsync.db"
        if not path.is_file():
            demo = settings.data_dir / "demo" / "calsync.db"
            hint = f" (the demo's: export CALSYNC_DATA_DIR={demo.parent})" if demo.is_file() else ""
            raise _fail(
                f"no database at {path}: set CALSYNC_DATA_DIR to calsync's data directory{hint}, or "
                "CALSYNC_DATABASE_URL; 'calsync db upgrade' creates a new one",
                2,
            )
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["error"])[0]
        raise _fail(f"cannot use the database at {_safe_url(url)} ({first}); check CALSYNC_DATABASE_URL", 2) from None
    finally:
        engine.dispose()
    if revision is None:
        raise _fail(
            f"the database at {_safe_url(url)} has no calsync schema: check CALSYNC_DATABASE_URL / CALSYNC_DATA_DIR, "
            "or run 'calsync db upgrade' to create it",
            2,
        )
    if revision != head_revision():
        raise _fail(
            f"the database at {_safe_url(url)} is at migration {revision}, this calsync needs {head_revision()}: "
            "run 'calsync db upgrade'",
            2,
        )


def _require_keys(settings: Settings) -> None:
    """Refuse to start without the token keys the stored tokens were sealed with (a new key file would make every
    stored token unreadable): one line naming the settings to fix."""
    if settings.token_keys:
        from calsync.crypto import TokenCipher

        TokenCipher(env_keys=settings.token_keys.get_secret_value())  # a malformed value: one line, exit 2
    elif not (settings.data_dir / KEY_FILE).is_file():
        raise _fail(
            f"no token key file at {settings.data_dir / KEY_FILE}: set CALSYNC_DATA_DIR to the data directory "
            "`calsync serve` uses, or CALSYNC_TOKEN_KEYS",
            2,
        )


@app.command("config")
@one_line_errors
def config_(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the settings reference (docs/configuration.md) instead.")
    ] = False,
) -> None:
    """The settings in force: each CALSYNC_* variable, its value (secrets masked) and where it came from."""
    from calsync import config_report

    if markdown:
        sys.stdout.write(config_report.markdown())
        return
    settings = _settings()
    table = Table(title="calsync settings in force (docs/configuration.md describes each)")
    for column in ("variable", "value", "from"):
        table.add_column(column, overflow="fold")
    for row in config_report.effective(settings):
        table.add_row(row.variable, row.value, row.source)
    Console(width=max(console.width, 140)).print(table, highlight=False)


# ---- support: diagnose, status, resync (issue 6) ---------------------------------------------------------------


@contextlib.contextmanager
def _runtime_or_exit(settings: Settings) -> Iterator[Runtime]:
    """A runtime for a one-shot command; a database calsync cannot use is one line and exit code 2."""
    from sqlalchemy.exc import SQLAlchemyError

    from calsync.services.runtime import build_runtime

    _require_database(settings)
    _require_keys(settings)
    runtime = None
    try:
        runtime = build_runtime(settings)
        yield runtime
    except SQLAlchemyError as exc:
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["error"])[0]
        raise _fail(
            f"cannot use the database at {_safe_url(settings.effective_database_url)} ({first}); "
            "check CALSYNC_DATABASE_URL and run 'calsync db upgrade'",
            2,
        ) from None
    finally:
        if runtime is not None:
            runtime.close()
            runtime.db.dispose()


def _diagnose_options(settings: Settings) -> DiagnoseOptions:
    from calsync.services.diagnose import DiagnoseOptions

    return DiagnoseOptions(
        push_enabled=settings.push_notifications,
        poll_interval=settings.poll_interval,
        lease_seconds=settings.lease_seconds,
        webhook_base_url=settings.effective_webhook_base_url,
    )


_VERDICT_STYLE = {"ok": "green", "warning": "yellow", "problem": "bold red"}


@app.command()
@one_line_errors
def diagnose(
    user: Annotated[str, typer.Option("--user", help="The person's email address.")],
    event: Annotated[
        int | None, typer.Option("--event", help="An event id: is it in their calendar, and why not?")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the diagnosis as JSON (for machines).")] = False,
) -> None:
    """Support's checklist for one person (and one event): connection, need_full_sync, a real token refresh, pull,
    push, workers, recent errors, and whether the event is in their calendar now. Exit 0: no problem found;
    1: a problem was found; 2: bad input."""
    from rich.markup import escape

    from calsync.services.diagnose import Verdict
    from calsync.services.diagnose import diagnose as run_diagnosis

    settings = _settings()
    with _runtime_or_exit(settings) as runtime:
        result = run_diagnosis(runtime.calendar, _diagnose_options(settings), user, event)
    if as_json:
        sys.stdout.write(json.dumps(result.as_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        about = f"{result.name} <{result.email}>, {result.organization}" + (f", event {event}" if event else "")
        table = Table(title=f"calsync diagnose: {about}", show_lines=True)
        for column, ratio in (("check", 2), ("verdict", 1), ("finding", 5), ("next step", 4)):
            table.add_column(column, ratio=ratio, overflow="fold")
        for check in result.checks:
            style = _VERDICT_STYLE[check.verdict.value]
            finding = escape(check.finding)
            if check.key in ("rsvp", "event"):  # the mapping itself: support reads it line by line
                details = "\n".join(f"{k}: {v}" for k, v in check.facts.items() if v is not None)
                finding += f"\n[dim]{escape(details)}[/]" if details else ""
            step = escape(check.next_step or "")
            table.add_row(check.title, f"[{style}]{check.verdict.value}[/]", finding, step)
        console.print(table, highlight=False)
        style = _VERDICT_STYLE[result.verdict.value]
        console.print(f"overall: [{style}]{result.verdict.value}[/]", highlight=False)
    raise typer.Exit(1 if result.verdict is Verdict.PROBLEM else 0)


@app.command()
@one_line_errors
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print the overview as JSON.")] = False,
) -> None:
    """An overview of the installation: connections by state, the work queue, workers alive, recent errors."""
    from rich.markup import escape

    from calsync.services.diagnose import installation_status

    settings = _settings()
    with _runtime_or_exit(settings) as runtime:
        overview = installation_status(runtime.calendar, _diagnose_options(settings))
    if as_json:
        sys.stdout.write(json.dumps(overview.as_json(), indent=2) + "\n")
        return
    table = Table(title="calsync status", show_header=False)
    table.add_column("what")
    table.add_column("value")
    for state, count in overview.by_status.items():
        table.add_row(f"connections {state}", str(count))
    for provider, count in overview.by_provider.items():
        table.add_row(f"  active on {provider}", str(count))
    table.add_row("due now", str(overview.due))
    table.add_row("being synced (leased)", str(overview.leased))
    table.add_row("backing off after failures", str(overview.backing_off))
    table.add_row("full resync pending", str(overview.need_full_sync))
    alive = f"{overview.workers_alive} alive" + (
        f" of {overview.workers_known} known" if overview.workers_known else ""
    )
    table.add_row("workers", alive if overview.workers_alive else f"[bold red]none running[/] ({alive})")
    console.print(table, highlight=False)
    if overview.errors:
        errors = Table(title="recent errors (24 h)")
        for column in ("when", "connection", "account", "message"):
            errors.add_column(column, overflow="fold")
        for at, cid, account, message in overview.errors:
            errors.add_row(f"{at:%Y-%m-%d %H:%M:%S}", str(cid), account, escape(message))
        console.print(errors, highlight=False)
    else:
        console.print("no errors in the last 24 hours")


@app.command()
@one_line_errors
def resync(
    user: Annotated[str | None, typer.Option("--user", help="Resync this person's calendar (email).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Resync every connected calendar.")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Run the rounds here and report what each did.")] = False,
) -> None:
    """Request a full resync (what Resync in Profile → Calendar does): for one person, or --all. With --wait the
    rounds run in this process. Exit 1 when a request was refused or a round failed."""
    from rich.markup import escape
    from rich.progress import Progress

    from calsync.services.diagnose import ResyncRequest, request_one, resync_targets
    from calsync.sync.report import RoundReport

    if (user is None) == (not all_):
        raise _fail("give either --user EMAIL or --all", 2)
    settings = _settings()
    with _runtime_or_exit(settings) as runtime:
        targets = resync_targets(runtime.calendar, email=user)
        requests: list[ResyncRequest] = []
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("requesting resync", total=len(targets))
            for person_id, label in targets:
                requests.append(request_one(runtime.calendar, person_id, label))
                progress.advance(task)
        requested = {r.connection_id for r in requests if r.requested}
        reports: list[RoundReport] = []
        if wait and requested:
            with Progress(console=err, transient=True) as progress:
                task = progress.add_task("syncing", total=len(requested))
                done: set[int] = set()

                def on_round(report: RoundReport) -> None:
                    reports.append(report)
                    if report.connection_id in requested and report.connection_id not in done:
                        done.add(report.connection_id)
                        progress.advance(task)

                runtime.worker(on_round=on_round).drain()
    table = Table(title="resync")
    for column in ("account", "request", "round" if wait else "next"):
        table.add_column(column, overflow="fold")
    by_connection = {r.connection_id: r for r in reports}
    for request in requests:
        if not request.requested:
            table.add_row(request.account, f"[red]refused[/]: {escape(request.message)}", "")
            continue
        report = by_connection.get(request.connection_id or 0)
        if not wait:
            table.add_row(request.account, "requested", "a worker runs it within seconds")
        elif report is None:
            table.add_row(request.account, "requested", "no round ran (not due yet: another worker holds it?)")
        else:
            outcome = report.outcome if report.outcome == "ok" else f"[red]{report.outcome}[/]"
            detail = report.summary() + (f"; {'; '.join(report.errors)}" if report.errors else "")
            table.add_row(request.account, "requested", f"{outcome}: {escape(detail)}")
    console.print(table, highlight=False)
    if not targets:
        console.print("no connected calendars")
    failed = any(not r.requested for r in requests) or any(r.outcome in ("auth", "error") for r in reports)
    raise typer.Exit(1 if failed else 0)


# ---- install and organizations (issue 12): calsync/cli_org.py -----------------------------------------------------
from calsync.cli_org import register as _register_org_commands  # noqa: E402  (needs the helpers above)

_register_org_commands(app)


def main() -> None:  # pragma: no cover - console script shim
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
