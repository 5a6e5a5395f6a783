"""structlog configured once: JSON lines into a size-rotated file under the user's state dir."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core._logfile import DIR_MODE, FILE_MODE, PrivateRotatingFileHandler, tighten
from workbench.core.errors import WorkbenchError
from workbench.core.text import mask_uris_in

if TYPE_CHECKING:  # type names only: structlog itself loads on first use (see _structlog)
    from structlog.stdlib import BoundLogger
    from structlog.typing import EventDict, WrappedLogger

ROOT_LOGGER = "workbench"
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_BACKUPS = 5
_handler: logging.Handler | None = None
_lock = threading.RLock()  # the UI's first log record may come from any thread


def default_log_path() -> Path:
    """`$WORKBENCH_LOG_FILE`, else `$XDG_STATE_HOME/workbench/workbench.log` (~/.local/state)."""
    override = os.environ.get("WORKBENCH_LOG_FILE")
    if override:
        return Path(override)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "workbench" / "workbench.log"


def _errors_as_data(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Any WorkbenchError under `error` is written as its `to_dict()`."""
    error = event.get("error")
    if isinstance(error, WorkbenchError):
        event["error"] = error.to_dict()
    elif isinstance(error, BaseException):
        event["error"] = {"error": type(error).__name__, "message": str(error)}
    return event


def _mask_secrets(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """No `scheme://user:password@` reaches the file: passwords in every string (the event,
    fields, nested values, errors, tracebacks) become `***`."""
    return {key: mask_uris_in(value, stringify=True) for key, value in event.items()}


def configure_logging(
    path: Path | None = None,
    *,
    level: int = logging.INFO,
    max_bytes: int = DEFAULT_MAX_BYTES,
    backups: int = DEFAULT_BACKUPS,
) -> Path | None:
    """Send Workbench's records to `path` as JSON lines; returns the file, or None if unwritable.

    Nothing ever goes to the terminal: an unwritable file (or one that is no regular file: a
    FIFO would block every command) means records are dropped (the caller says so once), never
    that they are printed over a UI. A write error later (a full disk) is one warning on stderr,
    then silence. The file, each rotated one and our own state dir are private (0600, 0700).
    """
    with _lock:
        return _configure(path, level, max_bytes, backups)


def _shared_processors() -> list[Any]:
    from workbench.core._structlog import structlog

    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        _errors_as_data,
    ]


def _configure(path: Path | None, level: int, max_bytes: int, backups: int) -> Path | None:
    global _handler
    # Imported here, not at module level: commands that never log (or log only after their
    # first screen is up) do not pay for structlog on their way to it.
    from workbench.core._structlog import structlog

    shared = _shared_processors()
    target = path or default_log_path()
    root = logging.getLogger(ROOT_LOGGER)
    if _handler is not None:
        root.removeHandler(_handler)
        _handler.close()
        _handler = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        if path is None and not os.environ.get("WORKBENCH_LOG_FILE"):
            tighten(target.parent, DIR_MODE)  # our state dir: made wider by someone, or by us
        for number in range(1, backups + 1):
            tighten(target.with_name(f"{target.name}.{number}"), FILE_MODE)
        handler: logging.Handler = PrivateRotatingFileHandler(
            target, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        written: Path | None = target
    except OSError:
        handler = logging.NullHandler()
        written = None
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _mask_secrets,
                structlog.processors.JSONRenderer(default=str),
            ],
            foreign_pre_chain=shared,
        )
    )
    _handler = handler
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return written


def get_logger(name: str) -> BoundLogger:
    """A logger under `workbench.` (so its records reach the rotating file)."""
    from workbench.core._structlog import structlog

    with _lock:
        if _handler is None:
            configure_logging()  # never fall back to structlog's default: it prints to stdout
    full = name if name.startswith(ROOT_LOGGER) else f"{ROOT_LOGGER}.{name}"
    logger: BoundLogger = structlog.stdlib.get_logger(full)
    return logger
