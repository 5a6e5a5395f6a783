"""The merged view's file source, with random access: a log file read in blocks with pread,
each complete line's byte offset and level kept in packed arrays, so a line is read again from
the file when shown and the file is never held whole. Times and levels are read by the log
engine's functions (`logs.linetimes`, `logs.textlines`, `logs.records`), as `workbench logs`
reads them; streamed and compressed sources reach it as spooled files (ui/view/spool.py)."""

from __future__ import annotations

import os
import threading
from array import array
from collections.abc import Iterator
from pathlib import Path

from workbench.logs.linetimes import split_time
from workbench.logs.records import LINE_KEEP, RANK, parse_line
from workbench.logs.source import open_log
from workbench.logs.sources import LogLine, LogSource
from workbench.logs.textlines import line_level
from workbench.logs.times import parse_time

BLOCK = 1 << 20
NO_LEVEL = 255


def level_rank(raw: bytes, boot_time: float | None = None) -> tuple[int, float | None]:
    """A line's level rank (NO_LEVEL when it says none) and its time (epoch seconds or None),
    as `workbench logs` reads them: a JSON record's own fields (journald's PRIORITY and
    __REALTIME_TIMESTAMP too), a text line's from its layout (`logs.linetimes`,
    `logs.textlines`; dmesg's seconds since boot anchored at `boot_time` when known)."""
    if raw.lstrip()[:1] == b"{":
        record = parse_line(0, raw[: LINE_KEEP * 64])
        if not record.malformed:
            stamp = parse_time(record.timestamp) if record.timestamp is not None else None
            rank = NO_LEVEL if record.level is None else RANK[record.level]
            return rank, None if stamp is None else stamp.timestamp()
    text = raw[:LINE_KEEP].decode("utf-8", "replace")
    when, end = split_time(text, boot_time=boot_time)
    level = line_level(text, end)
    return (NO_LEVEL if level is None else RANK[level]), when


class FileSource(LogSource):
    """One log file; `lines()` reads what is there, `more()` the complete lines written since."""

    def __init__(
        self,
        path: str,
        label: str | None = None,
        *,
        growing: bool = False,
        boot_time: float | None = None,
    ) -> None:
        self.path = path
        self.growing = growing  # being written by us (a decoded copy): no partial line shown
        self.boot_time = boot_time  # anchors a recorded dmesg's seconds since boot
        self.label = label or Path(path).name or path
        self.fd = open_log(path)
        self._inode = os.fstat(self.fd).st_ino
        self.truncated = False  # its rows before the truncation are gone from the file
        self.offsets = array("Q")  # byte offset of line n+1 (LogLine.number is 1-based)
        self.levels = bytearray()  # its level rank, NO_LEVEL when none
        self._pos = 0  # where the next unread line starts

    def close(self) -> None:
        os.close(self.fd)

    def lines(self) -> Iterator[LogLine]:
        """Every line from the start; a last line without its newline too, as it is now (what
        is appended to it later comes as a line of its own)."""
        return self.more(partial=not self.growing)

    def more(self, *, partial: bool = False) -> Iterator[LogLine]:
        """The complete lines written since the last read (a partial last line waits, unless
        `partial`)."""
        while True:
            data = os.pread(self.fd, BLOCK, self._pos)
            last = data.rfind(b"\n")
            if last < 0:
                if len(data) < BLOCK:
                    if partial and data:
                        yield self._line(data[:LINE_KEEP], len(data))
                    return  # nothing, or a partial last line: it waits for its newline
                end = self._line_end(self._pos + len(data))  # a line longer than a block
                if end < 0:
                    return
                yield self._line(data[:LINE_KEEP], end - self._pos + 1)
                continue
            start = 0
            while start <= last:
                end = data.index(b"\n", start)
                yield self._line(data[start:end], end - start + 1)
                start = end + 1

    def _line_end(self, pos: int) -> int:
        """The offset of the next newline at or after `pos`, -1 if none yet (read in blocks
        that are not kept)."""
        while True:
            block = os.pread(self.fd, BLOCK, pos)
            if not block:
                return -1
            cut = block.find(b"\n")
            if cut >= 0:
                return pos + cut
            pos += len(block)

    def _line(self, raw: bytes, length: int) -> LogLine:
        rank, when = level_rank(raw, self.boot_time)
        self.offsets.append(self._pos)
        self.levels.append(rank)
        self._pos += length
        text = raw.decode("utf-8", "replace").rstrip("\r")
        return LogLine(self.label, len(self.offsets), text, when)

    def follow(self, stop: threading.Event, *, context: int = 10) -> Iterator[LogLine]:
        """Not used by the view (it polls `more()`): every line, then new ones until `stop`."""
        while not stop.is_set():
            yield from self.more()
            stop.wait(0.1)

    def replaced(self) -> bool:
        """Whether the path now names another file (rotation) or this one was cut shorter than
        what was read (truncation): what comes next is read from a new source."""
        try:
            inode = Path(self.path).stat().st_ino
        except OSError:
            return False  # rotated, its successor not created yet
        if inode != self._inode:
            return True
        # The bytes already read are gone (fstat's size can lag behind the data on some file
        # systems: what a read returns is what counts).
        if self._pos and not os.pread(self.fd, 1, self._pos - 1):
            self.truncated = True
            return True
        return False

    def read(self, number: int) -> bytes:
        """Line `number` (1-based) as written, its head only when absurdly long."""
        if self.truncated:
            return b"(gone: the file was truncated)"
        start = self.offsets[number - 1]
        data = os.pread(self.fd, LINE_KEEP * 4, start)
        cut = data.find(b"\n")
        return data if cut < 0 else data[:cut]
