"""Lines of a command's output, streamed (never read whole): `journalctl -o json`, `dmesg -r`.
A reader waiting for more checks its stop event every 0.1 s; the command is ended with it."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from typing import BinaryIO, cast

from workbench.core import logtools
from workbench.logs.sourcefiles import WAIT_S, StopReader, stream_lines

__all__ = ["WAIT_S", "command_lines"]


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
        yield from stream_lines(cast(BinaryIO, StopReader(stdout.fileno(), stop)))
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        stdout.close()
