"""Our own log file: a regular file private to the user, rotated by size, and quiet when the
disk is full (one warning on stderr, then records are dropped, never a traceback per record)."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import stat
import sys
from io import TextIOWrapper
from pathlib import Path

from workbench.core.text import safe_text

FILE_MODE = 0o600
DIR_MODE = 0o700


class NotRegularFile(OSError):
    """The log path is a FIFO, a device, a socket or a directory: writing there could block
    every command (a FIFO without a reader) or fill a terminal."""


def tighten(path: Path, mode: int) -> None:
    """Take group and other access away from `path` if it is ours (never someone else's)."""
    try:
        st = os.lstat(path)
    except OSError:
        return
    if (
        st.st_uid == os.geteuid()
        and stat.S_IMODE(st.st_mode) & 0o077
        and not stat.S_ISLNK(st.st_mode)
    ):
        # A file we cannot tighten (a read-only mount) must not cost us the log.
        with contextlib.suppress(OSError):
            path.chmod(stat.S_IMODE(st.st_mode) & mode)


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose file (and each rotated one) is a regular file, 0600."""

    failed = False  # after the first write error every record is dropped

    def _open(self) -> TextIOWrapper:
        # O_NONBLOCK: opening a FIFO without a reader fails (ENXIO) instead of hanging.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NONBLOCK
        fd = os.open(self.baseFilename, flags, FILE_MODE)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise NotRegularFile(f"{self.baseFilename}: not a regular file")
            if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) & 0o077:
                os.fchmod(fd, FILE_MODE)
            # A descriptor, not a path: Path.open cannot take one.
            return open(fd, "a", encoding=self.encoding, errors=self.errors)  # noqa: PTH123
        except BaseException:
            os.close(fd)
            raise

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)

    def _discard(self) -> None:
        """Point our descriptor at /dev/null: what is still buffered (and the final flush at
        exit) goes nowhere instead of failing again in an "Exception ignored" message."""
        stream = self.stream
        if stream is None:
            return
        null = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.dup2(null, stream.fileno())
        except (OSError, ValueError):
            pass
        finally:
            os.close(null)

    def handleError(self, record: logging.LogRecord) -> None:
        """One warning for the first failed write (a full disk, an I/O error), then silence:
        the stdlib default prints a traceback for every record."""
        if self.failed:
            return
        self.failed = True
        self._discard()
        exc = sys.exc_info()[1]
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        try:
            message = f"cannot write the log {self.baseFilename} ({reason})"
            print(
                f"workbench: warning: {safe_text(message)}; further records are dropped",
                file=sys.stderr,
            )
        except (OSError, ValueError):  # stderr closed too: nothing left to tell
            return
