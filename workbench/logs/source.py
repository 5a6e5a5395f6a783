"""Opening a log file safely and reading it with pread (a truncated file cannot SIGBUS us)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from workbench.core.errors import WorkbenchError, with_context

BLOCK = 1 << 16


class LogFileError(WorkbenchError):
    code = "LOG_UNREADABLE"
    default_remedy = "Check the path and that this user can read it."


@with_context("logs.source", "open_log")
def open_log(path: str | Path) -> int:
    """A read-only descriptor for a regular file; LogFileError (exit 2 in the CLI) otherwise."""
    shown = str(path)
    try:
        fd = os.open(shown, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError as exc:
        raise LogFileError(f"{shown}: no such file", cause=exc, details={"path": shown}) from exc
    except PermissionError as exc:
        raise LogFileError(
            f"{shown}: permission denied", cause=exc, details={"path": shown}
        ) from exc
    except OSError as exc:
        # A socket (ENXIO) or the like: say what it is rather than the errno's words.
        what = "not a regular file" if not _regular(shown) else exc.strerror
        raise LogFileError(f"{shown}: {what}", cause=exc, details={"path": shown}) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LogFileError(f"{shown}: not a regular file", details={"path": shown})
    return fd


def _regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # unknown: let the open error speak


def tail_offsets(fd: int, size: int, lines: int) -> int:
    """The offset where the last `lines` lines of the first `size` bytes begin (reads backwards
    in blocks, so the cost depends on the lines wanted, not on the file)."""
    if size <= 0 or lines <= 0:
        return size
    end = size
    # A final newline ends the last line; it does not start another.
    newlines = -1 if os.pread(fd, 1, size - 1) == b"\n" else 0
    pos = size
    while pos > 0:
        start = max(0, pos - BLOCK)
        block = os.pread(fd, pos - start, start)
        idx = len(block)
        while True:
            idx = block.rfind(b"\n", 0, idx)
            if idx < 0:
                break
            newlines += 1
            if newlines == lines:
                return start + idx + 1
        pos = start
    return 0 if end else size


def complete_end(fd: int, size: int) -> int:
    """The offset just after the last newline in the first `size` bytes (0 if none): where a
    follower starts, so a partial last line is printed once, when it is finished."""
    pos = size
    while pos > 0:
        start = max(0, pos - BLOCK)
        cut = os.pread(fd, pos - start, start).rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        pos = start
    return 0
