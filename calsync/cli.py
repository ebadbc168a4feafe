"""The ``calsync`` command line (Typer + Rich). Commands stay thin: they read settings and call services."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from calsync.config import Settings

app = typer.Typer(
    help="calsync: your RSVPs in Google Calendar or Outlook, and calendar RSVPs back.", no_args_is_help=True
)
console = Console()
err = Console(stderr=True)


@app.callback()
def _root() -> None:
    """calsync: your RSVPs in Google Calendar or Outlook, and calendar RSVPs back."""


def _settings() -> Settings:
    return Settings()


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
