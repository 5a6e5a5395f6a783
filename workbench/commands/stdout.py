"""The process's standard output, with its write failures marked as such: a full disk or an
I/O error on stdout is said as the output's, and the same errno from a read is not."""

from __future__ import annotations

import io
import os
import sys


class OutputError(OSError):
    """Writing standard output failed (the errno of the failed write)."""


class _Fd1(io.RawIOBase):
    """fd 1, raw: each failed write raises OutputError."""

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return 1

    def isatty(self) -> bool:
        return os.isatty(1)

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            return os.write(1, data)
        except (BlockingIOError, BrokenPipeError):
            raise  # the reader left: not a failure to say
        except OSError as exc:
            raise OutputError(exc.errno, exc.strerror) from exc


def mark_output_errors() -> None:
    """Put the marking stdout in place of the interpreter's (same encoding, error handler and
    buffering); a stdout already replaced (a test's capture, a redirect) is left alone."""
    current = sys.stdout
    if (
        current is None
        or current is not sys.__stdout__
        or not isinstance(current, io.TextIOWrapper)
    ):
        return
    try:
        current.flush()
    except OSError:
        return  # it fails already: said by whoever writes next
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(_Fd1()),
        encoding=current.encoding,
        errors=current.errors,
        line_buffering=current.line_buffering,
        write_through=current.write_through,
    )
