"""Logging for every calsync process (``serve``, ``worker``, ``demo``, the one-shot CLI commands), set up once.

Every process masks secrets the same way (:func:`calsync.web.errors.install_log_redaction`: a record factory, so
library loggers and tracebacks are covered too) and writes one line per record to stderr, as text or, with
``CALSYNC_LOG_FORMAT=json``, as one JSON object per line for a log pipeline.

uvicorn's own logging config is not used: it gives ``uvicorn.access`` a formatter that unpacks the record's
arguments, and its handlers bypass ours. Instead its loggers propagate to the root handler installed here, and
the access line (with an OAuth callback's ``code`` and ``state`` masked) is formatted like every other record.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any, Literal

from calsync.web.errors import install_log_redaction

LogFormat = Literal["text", "json"]
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
CHATTY = ("alembic", "httpx", "httpcore", "urllib3", "msal", "hpack")
"""Libraries that log every request or step at INFO: shown only when the level is DEBUG."""
_HANDLER_MARK = "calsync_handler"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not the stream that was current when logging
    was configured: a command run in-process (Typer's test runner, an embedding program) swaps stderr and closes it
    afterwards, while threads it started (a sandbox, a worker) go on logging."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        """StreamHandler.__init__ sets it; the property always answers the current stderr."""


def configure_logging(level: str = "INFO", fmt: LogFormat = "text", *, floor: str | None = None) -> None:
    """Install redaction and one stderr handler on the root logger; route uvicorn's loggers through it.

    Idempotent: a second call replaces calsync's handler (call it again after building a ``uvicorn.Config``,
    which applies uvicorn's own dictConfig when it is created). ``floor`` raises the level for one-shot commands,
    whose output is their answer (``WARNING``: only what needs attention joins it).
    """
    number = logging.getLevelName(level.upper())
    if not isinstance(number, int):
        number = logging.INFO
    if floor is not None:
        number = max(number, logging.getLevelName(floor))
    install_log_redaction()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
    handler = _StderrHandler()
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    # The level on the handler too: a logger with a level of its own (uvicorn's, configured by a server in the same
    # process) would otherwise reach this handler below the floor, into a one-shot command's answer.
    handler.setLevel(number)
    root.addHandler(handler)
    root.setLevel(number)
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.NOTSET if number <= logging.DEBUG else logging.WARNING)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
