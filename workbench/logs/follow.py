"""Following a growing log: appended lines promptly, through rotation, truncation and deletion,
never losing or repeating a line.

Polling (a few milliseconds apart) rather than inotify: it sees renames, truncation and
re-creation the same way on every filesystem, NFS included, at the cost of idle wake-ups.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from workbench.logs.records import LINE_KEEP, LINE_LIMIT, cut_line

READ = 1 << 20
MISSED_MAX = 64  # rotated files looked at for ones we never saw (log.1 .. log.64)
FINGERPRINT = 64  # bytes at the file's start and just before our position, compared each poll
Notice = Callable[[str], None]


class Follower:
    """Yields each complete line appended to `path` (without its newline), in order.

    - rotation (rename, then a new file at the path): the old file is read to its end first;
    - copytruncate / truncation: noticed by the size shrinking, or by the file's first bytes or
      the bytes just before our position changing (a rewrite within one poll, to any size);
      reading starts again at 0;
    - deletion: the old file is read to its end, then the path is watched until it is back;
    - a partial last line waits for its newline (or for its file to be rotated away).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        from_start: bool = False,
        start_at: int | None = None,
        poll_s: float = 0.005,
        notice: Notice | None = None,
    ) -> None:
        self.path = str(path)
        self.poll_s = poll_s
        self.notice = notice or (lambda _msg: None)
        self._fd: int | None = None
        self._ino: tuple[int, int] | None = None
        self._pos = 0
        self._partial = b""  # an unfinished last line (its head only, if absurdly long)
        self._long: int | None = None  # the length of an absurd unfinished line so far
        self._head = b""  # the file's first bytes, up to FINGERPRINT, as we read them
        self._tail = b""  # the FINGERPRINT bytes before _pos, as we read them
        self._from_start = from_start
        self._start_at = start_at  # where to begin in the file first opened
        self.stopped = threading.Event()

    def close(self) -> None:
        self.stopped.set()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _pin(self) -> tuple[int, os.stat_result] | None:
        """A descriptor for the regular file at the path now (None if there is none)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError:
            return None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            return None
        return fd, st

    def _open(self, pinned: tuple[int, os.stat_result] | None = None) -> bool:
        pinned = pinned or self._pin()
        if pinned is None:
            return False
        fd, st = pinned
        first = self._ino is None
        self._fd, self._ino = fd, (st.st_dev, st.st_ino)
        if not first or self._from_start:
            self._pos = 0
        elif self._start_at is not None and self._start_at <= st.st_size:
            self._pos = self._start_at
        else:
            self._pos = st.st_size
        self._partial, self._long = b"", None
        known = min(FINGERPRINT, self._pos)
        self._head = os.pread(fd, known, 0)
        self._tail = os.pread(fd, known, self._pos - known)
        return True

    def _remember(self, data: bytes) -> None:
        """Keep the fingerprint up to date with `data`, just read up to `_pos`."""
        if len(self._head) < FINGERPRINT:  # then _head is every byte before the read
            self._head = (self._head + data[:FINGERPRINT])[:FINGERPRINT]
        tail = data[-FINGERPRINT:]
        self._tail = (self._tail + tail)[-FINGERPRINT:] if len(tail) < FINGERPRINT else tail

    def _restart(self) -> None:
        self._pos = 0
        self._partial = self._head = self._tail = b""
        self._long = None

    def _read_new(self, fd: int, finished: bool = False) -> list[bytes]:
        """Lines appended since the last read; with `finished`, a final partial line too."""
        lines: list[bytes] = []
        while True:
            data = os.pread(fd, READ, self._pos)
            if not data:
                break
            self._pos += len(data)
            self._remember(data)
            lines += self._take(data)
        if finished and (self._partial or self._long is not None):
            lines.append(self._end_line(b""))
        return lines

    def _take(self, data: bytes) -> list[bytes]:
        """The lines `data` completes; its unfinished end is kept (at most LINE_LIMIT bytes of
        it: an absurd line keeps only its head and counts the rest)."""
        parts = data.split(b"\n")
        rest = parts.pop()
        lines = [self._end_line(parts[0]), *parts[1:]] if parts else []
        if self._long is not None:
            self._long += len(rest)
        elif len(self._partial) + len(rest) > LINE_LIMIT:
            self._long = len(self._partial) + len(rest)
            self._partial = (self._partial + rest[:LINE_KEEP])[:LINE_KEEP]
        else:
            self._partial += rest
        return lines

    def _end_line(self, piece: bytes) -> bytes:
        """The held partial line finished by `piece`."""
        if self._long is not None:
            line = cut_line(self._partial, self._long + len(piece))
        else:
            line = self._partial + piece
        self._partial, self._long = b"", None
        return line

    def _truncated(self, fd: int) -> bool:
        """The file is no longer the one we read: shorter, or other bytes where we read some."""
        if os.fstat(fd).st_size < self._pos:
            return True
        if self._head and os.pread(fd, len(self._head), 0) != self._head:
            return True
        tail = self._tail
        return self._pos > FINGERPRINT and os.pread(fd, len(tail), self._pos - len(tail)) != tail

    def poll(self) -> list[bytes]:
        """Everything new since the last call (possibly nothing)."""
        lines: list[bytes] = []
        if self._fd is None:
            pinned = self._pin()
            if pinned is None:
                return []
            if self._ino is not None:  # back after a deletion: read what was rotated meanwhile
                lines += self._read_missed(self._ino, pinned[1])
            self._open(pinned)
        fd = self._fd
        if fd is None:  # pragma: no cover - _open() set it
            return lines
        if self._truncated(fd):
            self.notice("truncated: reading from the start")
            self._restart()
        lines += self._read_new(fd)
        try:
            st = os.stat(self.path)
            current: tuple[int, int] | None = (st.st_dev, st.st_ino)
        except OSError:
            current = None
        if current != self._ino:
            # The file we hold was renamed away or deleted: its writer has moved on. Pin the
            # new file first (it could be rotated away too while we drain), drain the old one,
            # then continue with the new.
            pinned = self._pin() if current is not None else None
            lines += self._read_new(fd, finished=True)
            old = self._ino
            os.close(fd)
            self._fd = None
            self.notice("rotated" if current is not None else "deleted: waiting for it")
            if pinned is not None:
                lines += self._read_missed(old, pinned[1])
                if self._open(pinned):
                    lines += self.poll()
        return lines

    def _read_missed(self, old: tuple[int, int] | None, new: os.stat_result) -> list[bytes]:
        """Whole files rotated between ours and the one now at the path (`log.3` was ours, so
        `log.2` and `log.1` came after it), oldest first: a writer that rotates faster than we
        poll loses nothing. Only for numbered rotation (logrotate, RotatingFileHandler)."""
        lines: list[bytes] = []
        for fd in _newer_siblings(self.path, old, (new.st_dev, new.st_ino)):
            try:
                self._pos, self._partial, self._long = 0, b"", None
                lines += self._read_new(fd, finished=True)
            finally:
                os.close(fd)
        return lines

    def __iter__(self) -> Iterator[bytes]:
        """Lines as they come, until close() (or `stopped` is set)."""
        while not self.stopped.is_set():
            lines = self.poll()
            if lines:
                yield from lines
            else:
                self.stopped.wait(self.poll_s)


def _newer_siblings(path: str, ours: tuple[int, int] | None, now: tuple[int, int]) -> list[int]:
    """Descriptors of the `path.N` files newer than ours (`path.1` up to ours), oldest first;
    the file now at the path is left out. Each is opened as it is found, so a further rotation
    cannot change what we read; none if ours is not among the first MISSED_MAX."""
    found: list[tuple[tuple[int, int], int]] = []
    for number in range(1, MISSED_MAX + 1):
        try:
            fd = os.open(f"{path}.{number}", os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError:
            break
        st = os.fstat(fd)
        identity = (st.st_dev, st.st_ino)
        if identity == ours:
            os.close(fd)
            keep = [fd for ident, fd in found if ident != now]
            for ident, fd in found:
                if ident == now:
                    os.close(fd)
            return keep[::-1]
        found.append((identity, fd))
    for _, fd in found:
        os.close(fd)
    return []


def follow_lines(
    path: str | Path, stop: threading.Event, from_start: bool = False, poll_s: float = 0.005
) -> Iterator[bytes]:
    """Convenience: follow until `stop` is set."""
    follower = Follower(path, from_start=from_start, poll_s=poll_s)
    follower.stopped = stop
    try:
        yield from follower
    finally:
        if follower._fd is not None:
            os.close(follower._fd)
