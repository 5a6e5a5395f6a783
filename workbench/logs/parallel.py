"""Scanning a large file on two cores: a forked child takes the second half."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from workbench.logs.filters import LogFilter, scan

MIN_SPLIT_BYTES = 32 << 20  # below this a second process costs more than it saves
Render = Callable[[Iterable[bytes]], Iterator[bytes]]


def _write(chunks: Iterator[bytes], out: BinaryIO) -> None:
    for chunk in chunks:
        out.write(chunk)


def _boundary(fd: int, pos: int, end: int) -> int:
    """The start of the first line at or after `pos`."""
    while pos < end:
        block = os.pread(fd, 1 << 16, pos)
        if not block:
            return end
        cut = block.find(b"\n")
        if cut >= 0:
            return pos + cut + 1
        pos += len(block)
    return end


def _die_with_parent(parent: int) -> None:
    """In the child: be killed when the parent dies (killed, or gone on EPIPE), on Linux."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def scan_to(fd: int, flt: LogFilter, start: int, end: int, render: Render, out: BinaryIO) -> None:
    """Write `render(matching lines)` for [start, end) to `out`, in file order.

    Large files are split at a line boundary: the parent scans the first half while a forked
    child scans the second into a temporary file, which is copied out after. If the child
    fails, its half is scanned again here, so the output is complete either way. The child
    never outlives the parent: it is killed when the parent leaves early (the reader closed the
    pipe, an interrupt) and dies with it when the parent is killed.
    """
    if end - start < MIN_SPLIT_BYTES or not hasattr(os, "fork"):
        _write(render(scan(fd, flt, start, end)), out)
        return
    mid = _boundary(fd, (start + end) // 2, end)
    out.flush()
    with tempfile.TemporaryFile() as spill:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller
            code = 1
            try:
                _die_with_parent(parent)
                _write(render(scan(fd, flt, mid, end)), spill)
                spill.flush()
                code = 0
            finally:
                os._exit(code)
        try:
            _write(render(scan(fd, flt, start, mid)), out)
        except BaseException:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) == 0:
            out.flush()
            spill.seek(0)
            shutil.copyfileobj(spill, out, 1 << 20)
        else:
            _write(render(scan(fd, flt, mid, end)), out)
