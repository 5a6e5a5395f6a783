"""Lines of a command's output, streamed (never read whole): `journalctl -o json`, `dmesg -r`.
A reader waiting for more checks its stop event every 0.1 s; the command is ended with it."""

from __future__ import annotations

import os
import select
import subprocess
import threading
from collections.abc import Iterator
from typing import BinaryIO, cast

from workbench.core import logtools
from workbench.logs.sourcefiles import stream_lines

WAIT_S = 0.1


class _Pipe:
    """A pipe read in pieces that gives up (as if at its end) once `stop` is set."""

    def __init__(self, fd: int, stop: threading.Event | None) -> None:
        self._fd, self._stop = fd, stop

    def read(self, size: int = -1) -> bytes:
        while True:
            if self._stop is not None and self._stop.is_set():
                return b""
            ready, _, _ = select.select([self._fd], [], [], WAIT_S)
            if ready:
                return os.read(self._fd, size if size > 0 else 1 << 16)


def command_lines(argv: list[str], stop: threading.Event | None = None) -> Iterator[bytes]:
    """The lines `argv` writes to stdout, as it writes them, until it ends or `stop` is set;
    the command is ended (SIGTERM, then SIGKILL) when the reader stops early."""
    proc = subprocess.Popen(  # noqa: S603 - argv is ours: a tool found on PATH, fixed options
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=logtools.environment(),
        close_fds=True,
    )
    stdout = proc.stdout
    if stdout is None:  # pragma: no cover - stdout=PIPE gives one
        return
    try:
        yield from stream_lines(cast(BinaryIO, _Pipe(stdout.fileno(), stop)))
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        stdout.close()
