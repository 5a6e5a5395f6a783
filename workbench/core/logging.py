"""structlog configured once: JSON lines into a size-rotated file under the user's state dir."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterator
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
# Module state, not contextvars: the records of thread workers (the UI's, libvirt's event
# thread) carry them too. `run` is one per process; `machine` is set by `log_origin`.
RUN_ID = secrets.token_hex(4)
_machine: str | None = None  # None: this machine, by its hostname
_own_path: Path | None = None  # a target's own log (the demo's), before any user's choice
_asked: Path | None = None  # the path configure_logging was last given (None: the default)


def default_log_path() -> Path:
    """The log of the target at hand (the demo's own, see `log_origin`), else
    `$WORKBENCH_LOG_FILE`, else `$XDG_STATE_HOME/workbench/workbench.log` (~/.local/state)."""
    if _own_path is not None:
        return _own_path
    override = os.environ.get("WORKBENCH_LOG_FILE")
    if override:
        return Path(override)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "workbench" / "workbench.log"


def machine_name() -> str:
    """What `machine` says in every record: the target's name, else this host's name."""
    return _machine if _machine is not None else _hostname()


@functools.cache
def _hostname() -> str:
    return socket.gethostname()


def _add_origin(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Every record says which machine it is about and which run wrote it."""
    event.setdefault("machine", machine_name())
    event.setdefault("run", RUN_ID)
    return event


@contextlib.contextmanager
def log_origin(machine: str | None, path: Path | None = None) -> Iterator[None]:
    """While open, records carry `machine` (None: this host's name) and, with `path`, go to
    that file (the demo's own log) instead of the user's; both restored afterwards."""
    global _machine, _own_path
    with _lock:
        before = (_machine, _own_path)
        configured = _handler is not None and not isinstance(_handler, _OpenOnFirstRecord)
        _machine, _own_path = machine, path
        if configured and path != before[1]:
            _configure_default()
    try:
        yield
    finally:
        with _lock:
            _machine, _own_path = before
            if _handler is not None and path != before[1]:
                if configured:
                    _configure_default()
                else:  # set up by a record while open: the next record sets it up again
                    _unconfigure()


class _OpenOnFirstRecord(logging.Handler):
    """Stands in for the file's handler until a record comes: then the file is set up (and
    created) and the record written there. Never nothing: stdlib's last resort prints."""

    def emit(self, record: logging.LogRecord) -> None:
        with _lock:
            if _handler is self:
                _configure_default()
            handler = _handler
        if handler is not None and handler is not self:
            handler.handle(record)


def _unconfigure() -> None:
    """The file is closed, and no other is created until a record comes."""
    global _handler
    root = logging.getLogger(ROOT_LOGGER)
    if _handler is not None:
        root.removeHandler(_handler)
        _handler.close()
    _handler = _OpenOnFirstRecord()
    root.addHandler(_handler)


def _configure_default() -> None:
    """Point an already configured log at the target's own file, else where it was asked to
    go (same level)."""
    path = _own_path or _asked
    _configure(path, logging.getLogger(ROOT_LOGGER).level, DEFAULT_MAX_BYTES, DEFAULT_BACKUPS)


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
    global _asked
    with _lock:
        _asked = path
        return _configure(path, level, max_bytes, backups)


def _shared_processors() -> list[Any]:
    from workbench.core._structlog import structlog

    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        _add_origin,
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
        if path is None and _own_path is None and not os.environ.get("WORKBENCH_LOG_FILE"):
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
