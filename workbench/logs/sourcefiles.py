"""Log files as sources: any JSON-lines or text file (gzip, xz, bzip2 and UTF-16 read by their
first bytes), standard input (`-`), a VM's QEMU log, and Workbench's own log.

A file is read a line at a time (never whole); a line longer than LINE_LIMIT keeps only its
head (`cut_line`). Following a plain file reuses `logs.follow.Follower` (rotation, truncation);
a compressed file never grows: following it gives its last lines."""

from __future__ import annotations

import collections
import os
import re
import select
import sys
import threading
import time
from collections.abc import Iterator
from typing import BinaryIO, cast

from workbench.core.bounded import gap_line
from workbench.core.errors import ConfigError
from workbench.core.formats import HEAD, MAX_DECOMPRESSED, Capped, compressed, opened
from workbench.logs.follow import Follower
from workbench.logs.linetimes import file_year, line_time
from workbench.logs.records import LINE_KEEP, LINE_LIMIT, cut_line
from workbench.logs.source import complete_end, open_log, tail_offsets
from workbench.logs.sources import LogLine, LogSource

READ = 1 << 16
WAIT_S = 0.1  # a reader waiting for more checks its stop event this often
# A domain name as libvirt takes it, without what would leave the log directory.
_VM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+\- ]{0,199}")


def decode(data: bytes) -> str:
    """A line's bytes as text; undecodable bytes survive (surrogateescape) for `--json`."""
    return data.decode("utf-8", "surrogateescape").rstrip("\r")


def encode(raw: str) -> bytes:
    """The bytes `decode` came from."""
    return raw.encode("utf-8", "surrogateescape")


class StopReader:
    """A pipe's descriptor read in pieces; gives up (as if at its end) once `stop` is set."""

    def __init__(self, fd: int, stop: threading.Event | None) -> None:
        self._fd, self._stop = fd, stop

    def read(self, size: int = -1) -> bytes:
        while True:
            if self._stop is not None and self._stop.is_set():
                return b""
            ready, _, _ = select.select([self._fd], [], [], WAIT_S)
            if ready:
                return os.read(self._fd, size if size > 0 else READ)


def stream_lines(stream: BinaryIO) -> Iterator[bytes]:
    """The lines of `stream` (without newlines), reading READ bytes at a time: at most
    LINE_LIMIT bytes of one line are held (a longer one comes cut)."""
    pending = b""
    long: int | None = None  # the length so far of a line too long to hold
    while True:
        data = stream.read(READ)
        if not data:
            break
        parts = data.split(b"\n")
        rest = parts.pop()
        for part in parts:
            if long is not None:
                yield cut_line(pending, long + len(part))
                pending, long = b"", None
            elif len(pending) + len(part) > LINE_LIMIT:
                yield cut_line(pending + part[:LINE_KEEP], len(pending) + len(part))
                pending = b""
            else:
                yield pending + part
                pending = b""
        if long is not None:
            long += len(rest)
        elif len(pending) + len(rest) > LINE_LIMIT:
            long = len(pending) + len(rest)
            pending = (pending + rest)[:LINE_KEEP]
        else:
            pending += rest
    if long is not None:
        yield cut_line(pending, long)
    elif pending:
        yield pending


def numbered(
    label: str,
    lines: Iterator[bytes],
    boot_time: float | None = None,
    first: int = 1,
    year: int | None = None,
) -> Iterator[LogLine]:
    """Byte lines as the LogLines of `label`, numbered from `first`, each with its time
    (`year` completes syslog's year-less times: the file's)."""
    for number, data in enumerate(lines, first):
        raw = decode(data)
        yield LogLine(label, number, raw, line_time(raw, boot_time=boot_time, year=year))


def _capped(
    label: str, plain: BinaryIO, cap: Capped | None, year: int | None = None
) -> Iterator[LogLine]:
    """The lines of `plain`, then, when its decompression was cut at the cap, a line saying so
    (never silent)."""
    last = 0
    for line in numbered(label, stream_lines(plain), year=year):
        last = line.number
        yield line
    if cap is not None and cap.cut:
        what = f"decompressed text past {MAX_DECOMPRESSED >> 20} MiB"
        yield LogLine(label, last + 1, gap_line(what).decode(), None)


class FileSource(LogSource):
    """A log file: JSON lines or text, plain or compressed (told by its first bytes)."""

    def __init__(self, path: str, label: str | None = None) -> None:
        self.path = path
        self.label = label or path
        fd = open_log(path)  # LogFileError (exit 2): missing, unreadable, not a regular file
        try:
            self.compressed = compressed(os.pread(fd, HEAD, 0))
        finally:
            os.close(fd)

    def lines(self) -> Iterator[LogLine]:
        """Every line from the start, decompressed when it is compressed (up to the cap of
        decompressed text: a line then says what was left out)."""
        with os.fdopen(open_log(self.path), "rb") as raw, opened(raw) as (plain, cap):
            year = file_year(os.fstat(raw.fileno()).st_mtime)
            yield from _capped(self.label, plain, cap, year)

    def follow(self, stop: threading.Event, *, context: int = 10) -> Iterator[LogLine]:
        """The last `context` lines, then each new one (a plain file only: through rotation
        and truncation) until `stop` is set."""
        if self.compressed:  # it never grows: its last lines, then nothing more
            yield from collections.deque(self.lines(), maxlen=max(0, context))
            return
        fd = open_log(self.path)
        try:
            end = complete_end(fd, os.fstat(fd).st_size)
            start = tail_offsets(fd, end, context) if context > 0 else end
        finally:
            os.close(fd)
        follower = Follower(self.path, start_at=start)
        follower.stopped = stop  # checked between polls; never set here (it is the caller's)
        try:
            yield from numbered(self.label, iter(follower), year=time.localtime().tm_year)
        finally:
            if follower._fd is not None:  # as follow_lines() closes it
                os.close(follower._fd)
                follower._fd = None


class StdinSource(LogSource):
    """Standard input (`-`): read as it comes, decompressed when it is compressed."""

    label = "-"

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdin.buffer

    def lines(self) -> Iterator[LogLine]:
        """Every line until standard input ends."""
        with opened(self._stream) as (plain, cap):
            yield from _capped(self.label, plain, cap)

    def follow(self, stop: threading.Event, *, context: int = 10) -> Iterator[LogLine]:
        """A pipe has no end to start at: every line as it comes, until it ends or `stop`."""
        reader = cast(BinaryIO, StopReader(self._stream.fileno(), stop))
        with opened(reader) as (plain, cap):
            yield from _capped(self.label, plain, cap)


def vm_name(name: str) -> str:
    """`name` if it can be a domain's name (no path, no control characters); ConfigError."""
    if not _VM_NAME.fullmatch(name) or name in (".", ".."):
        raise ConfigError(f"--qemu: not a domain name: {name!r}")
    return name
