"""Logs kept bounded: the newest bytes of a file below a machine root (and its first, a gap
line between), the newest lines of a stream (and its first), and the live log they make."""

from __future__ import annotations

import errno
import os
import re
import stat
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.core.errors import HostReadError

if TYPE_CHECKING:
    from workbench.core.host import Host

TAIL_BYTES = 1 << 20  # the most of one log read (the newest part: a failure is at the end)
TAIL_LINES = 50_000  # what journalctl is asked for (it reads backwards: bounded time)
# The first part of this boot's kernel log, kept besides the newest: boot-time causes (`kvm:
# disabled by bios`, a BAR vfio-pci cannot reserve, DMAR) are there, and a chatty host pushes
# them out of any tail.
HEAD_BYTES = 256 * 1024
HEAD_LINES = 5_000
GAP_LINE = re.compile(r"^-- workbench: ([^\n]{1,120}) left out here --$", re.MULTILINE)


def gap_line(what: str) -> bytes:
    """The line put where the middle of a log was left out."""
    return f"-- workbench: {what} left out here --\n".encode()


def decoded(data: bytes | None) -> str | None:
    """Bytes as text, what is not UTF-8 replaced (None stays None)."""
    return None if data is None else data.decode("utf-8", errors="replace")


# --- a file --------------------------------------------------------------------------------


def tail(
    host: Host, rel: str, limit: int = TAIL_BYTES, head: int = 0
) -> tuple[bytes | None, bool, str | None]:
    """(bytes, truncated, problem): the newest `limit` bytes of a regular file below the root,
    from a line start; with `head`, its first `head` bytes (whole lines) too, a gap line
    between saying how many bytes were left out. Problem: "missing", "permission", "not a
    regular file", or an error."""
    try:
        real = host.path(rel)
    except HostReadError as exc:
        return None, False, exc.message
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None, False, "missing"
    except PermissionError:
        return None, False, "permission"
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link the confined resolution did not follow
            return None, False, "not a regular file"
        return None, False, exc.strerror or str(exc)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, False, "not a regular file"
        truncated = info.st_size > limit + head
        first = b""
        if truncated and head:
            first = _read_upto(fd, head)
            first = first[: first.rfind(b"\n") + 1]  # whole lines only
        if truncated:
            os.lseek(fd, info.st_size - limit, os.SEEK_SET)
        else:
            limit += head
        data = _read_upto(fd, limit)
    except OSError as exc:
        return None, False, exc.strerror or str(exc)
    finally:
        os.close(fd)
    if truncated:
        data = data[data.find(b"\n") + 1 :]  # the first line is cut: drop it
    if first:
        left = info.st_size - len(first) - len(data)
        data = first + gap_line(f"{left} bytes") + data
    return data, truncated, None


def _read_upto(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit and (chunk := os.read(fd, min(1 << 16, limit - size))):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


# --- a stream ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveLog:
    """One live log as read: its bytes exactly as read (the newest whole lines kept), from
    where (`origin`: "journal", "kmsg", "dmesg" or a file's path), or None and why not."""

    data: bytes | None
    origin: str | None
    lines: int = 0  # log lines (a gap line not counted)
    truncated: bool = False
    tried: tuple[str, ...] = ()  # each source that gave nothing, and why
    head_lines: int = 0  # with a gap: the lines of the boot's first part, before it
    left_out: str | None = None  # with a gap: what was left out between, in words

    @property
    def text(self) -> str | None:
        """The bytes as text (what is not UTF-8 replaced)."""
        return decoded(self.data)

    def facts(self) -> dict[str, object]:
        """The manifest's account of this log (`facts.kernel_log` / `facts.libvirt_log`)."""
        out: dict[str, object] = {"origin": self.origin, "lines": self.lines}
        out["truncated"] = self.truncated
        if self.left_out is not None:
            out["head_lines"] = self.head_lines
            out["left_out"] = self.left_out
        if self.data is None:
            out["why"] = "; ".join(self.tried) or "not present"
        elif self.tried:
            out["tried"] = list(self.tried)
        return out


class Newest:
    """The newest lines of a stream, bounded in bytes and lines (memory bounded by the
    result, not by the log)."""

    def __init__(self, max_bytes: int, max_lines: int) -> None:
        self.lines: deque[bytes] = deque()
        self.size = 0
        self.max_bytes = max_bytes
        self.max_lines = max_lines
        self.dropped = False
        self.popped = 0  # lines added, then dropped for newer ones

    def add(self, line: bytes) -> None:
        line = line[: self.max_bytes - 1] + b"\n"
        self.lines.append(line)
        self.size += len(line)
        while self.size > self.max_bytes or len(self.lines) > self.max_lines:
            self.size -= len(self.lines.popleft())
            self.popped += 1
            self.dropped = True

    def __bool__(self) -> bool:
        return bool(self.lines)

    def result(self, origin: str, tried: list[str]) -> LiveLog:
        data = b"".join(self.lines)
        return LiveLog(data, origin, len(self.lines), self.dropped, tuple(tried))


class HeadTail(Newest):
    """The first lines of a stream (bounded) and its newest (bounded), and how many were left
    out between them: a log's start and its end, in memory bounded by both."""

    def __init__(self, head_bytes: int, head_lines: int, max_bytes: int, max_lines: int) -> None:
        super().__init__(max_bytes, max_lines)
        self.head: list[bytes] = []
        self.head_size = 0
        self.head_bytes = head_bytes
        self.head_lines = head_lines
        self.gap: str | None = None  # what was left out, when the journal cannot count it
        self.met = False  # the journal's first part reached its newest: nothing between

    @property
    def head_full(self) -> bool:
        return self.head_lines <= len(self.head) or self.head_size >= self.head_bytes

    def add(self, line: bytes) -> None:
        if not self.head_full:
            if self.head_size + len(line) < self.head_bytes:
                self.head.append(line + b"\n")
                self.head_size += len(line) + 1
                return
            self.head_bytes = 0  # a line that does not fit ends the first part
        super().add(line)

    def __bool__(self) -> bool:
        return bool(self.head or self.lines)

    def result(self, origin: str, tried: list[str]) -> LiveLog:
        lines = len(self.head) + len(self.lines)
        left = self.gap or (f"{self.popped} lines" if self.popped else None)
        gap = gap_line(left) if left else b""
        data = b"".join(self.head) + gap + b"".join(self.lines)
        return LiveLog(
            data,
            origin,
            lines,
            self.dropped,
            tuple(tried),
            head_lines=len(self.head) if left else 0,
            left_out=left,
        )
