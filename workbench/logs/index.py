"""A line index of a log file: the last page at once, the rest in time-boxed background batches.

Line starts are kept in a packed array of 8-byte offsets (8 MB for a million lines), lines are
read lazily with pread, parsed records are kept in a small LRU cache.
"""

from __future__ import annotations

import os
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path

from workbench.core.errors import error_context
from workbench.logs.records import LINE_KEEP, LINE_LIMIT, LogRecord, cut_line, parse_line
from workbench.logs.source import open_log, tail_offsets

CHUNK = 4 << 20
CACHE_RECORDS = 4096
FINGERPRINT = 64


class LogIndex:
    """Random access to the lines of a (possibly growing) file."""

    def __init__(self, path: str | Path, *, following: bool = False) -> None:
        self.path = str(path)
        # A follower waits for a partial last line's newline; a static view shows it as is.
        self.following = following
        with error_context("logs.index", "open"):
            self.fd = open_log(path)
        self.size = os.fstat(self.fd).st_size
        self._offsets = array("Q")  # start of each complete line, in order
        self._indexed = 0  # bytes covered by _offsets (always at a line boundary)
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, LogRecord] = OrderedDict()
        self.truncations = 0
        # The file's first bytes and those just before _indexed, as indexed: a rewrite between
        # two refreshes (copytruncate, then more than we had) changes them even if not the size.
        self._head = b""
        self._tail = b""

    def close(self) -> None:
        os.close(self.fd)

    # --- the first screen --------------------------------------------------------------------

    def tail(self, lines: int) -> list[bytes]:
        """The last `lines` lines, read backwards from the end (no index needed)."""
        start = tail_offsets(self.fd, self.size, lines)
        data = os.pread(self.fd, self.size - start, start)
        out = data.split(b"\n")
        if out and out[-1] == b"":
            out.pop()
        return out

    # --- indexing ----------------------------------------------------------------------------

    @property
    def complete(self) -> bool:
        return self._indexed >= self.size

    @property
    def line_count(self) -> int:
        """Lines indexed so far (a final line without its newline counts once indexed)."""
        return len(self._offsets)

    def index_step(self, budget_s: float = 0.02) -> bool:
        """Index for about `budget_s` seconds; True when the whole file is indexed."""
        deadline = time.monotonic() + budget_s
        while not self.complete and time.monotonic() < deadline:
            with self._lock:
                pos = self._indexed
                data = os.pread(self.fd, min(CHUNK, self.size - pos), pos)
                if not data:
                    self.size = pos  # shrank under us; refresh() sorts it out
                    break
                last = data.rfind(b"\n")
                if last < 0 and pos + len(data) < self.size:
                    end = self._line_end(pos + len(data))
                    if end < 0:  # its newline is not written yet
                        if self.following:
                            break
                        self._offsets.append(pos)
                        self._indexed = self.size
                        break
                    self._offsets.append(pos)
                    self._indexed = end + 1
                    continue
                if last < 0:  # a last line without its newline
                    if self.following:
                        break  # wait for the writer to finish it
                    self._offsets.append(pos)
                    self._indexed = pos + len(data)
                    break
                parts = data[:last].split(b"\n")
                self._offsets.extend(accumulate((len(p) + 1 for p in parts[:-1]), initial=pos))
                self._indexed = pos + last + 1
        with self._lock:
            self._mark()
        return self.complete

    def _line_end(self, pos: int) -> int:
        """The offset of the next newline at or after `pos` (-1 if none before `size`), read in
        chunks that are not kept: a line longer than a chunk is never held whole."""
        while pos < self.size:
            block = os.pread(self.fd, min(CHUNK, self.size - pos), pos)
            if not block:
                break
            cut = block.find(b"\n")
            if cut >= 0:
                return pos + cut
            pos += len(block)
        return -1

    def _mark(self) -> None:
        """Remember the file's first bytes and those just before _indexed, as they are now."""
        known = min(FINGERPRINT, self._indexed)
        if len(self._head) < known:
            self._head = os.pread(self.fd, known, 0)
        self._tail = os.pread(self.fd, known, self._indexed - known)

    def _rewritten(self) -> bool:
        """Other bytes where we indexed some: the file was truncated and written again."""
        if self._head and os.pread(self.fd, len(self._head), 0) != self._head:
            return True
        tail = self._tail
        return bool(tail) and os.pread(self.fd, len(tail), self._indexed - len(tail)) != tail

    def index_all(self) -> None:
        while not self.complete:
            before = self._indexed
            self.index_step(1.0)
            if self._indexed == before:
                break

    def refresh(self) -> bool:
        """Look at the file again: new lines get indexed later; a shrunken or rewritten file
        (truncation) resets the index. True when the file changed."""
        size = os.fstat(self.fd).st_size
        with self._lock:
            rewritten = size < self._indexed or self._rewritten()
            if size == self.size and not rewritten:
                return False
            if rewritten:
                self._offsets = array("Q")
                self._indexed = 0
                self._head = self._tail = b""
                self._cache.clear()
                self.truncations += 1
            self.size = size
        return True

    def memory_bytes(self) -> int:
        """What the index itself holds (the offsets array)."""
        return self._offsets.buffer_info()[1] * self._offsets.itemsize

    # --- reading -------------------------------------------------------------------------------

    def line(self, number: int) -> bytes:
        """The line's bytes; an absurdly long one (over LINE_LIMIT) as its head and a marker."""
        with self._lock:
            start = self._offsets[number]
            end = self._offsets[number + 1] if number + 1 < len(self._offsets) else self._indexed
        if end - start > LINE_LIMIT:
            newline = os.pread(self.fd, 1, end - 1) == b"\n"
            return cut_line(os.pread(self.fd, LINE_KEEP, start), end - start - newline)
        return os.pread(self.fd, end - start, start).rstrip(b"\n")

    def record(self, number: int) -> LogRecord:
        cached = self._cache.get(number)
        if cached is not None:
            self._cache.move_to_end(number)
            return cached
        record = parse_line(number, self.line(number))
        self._cache[number] = record
        if len(self._cache) > CACHE_RECORDS:
            self._cache.popitem(last=False)
        return record

    def records(self, start: int, stop: int) -> list[LogRecord]:
        return [self.record(i) for i in range(max(0, start), min(stop, self.line_count))]

    def next_match(self, start: int, predicate: Callable[[LogRecord], bool]) -> int | None:
        """The first line at or after `start` whose record satisfies `predicate` (for "jump to
        the next error")."""
        for number in range(max(0, start), self.line_count):
            if predicate(self.record(number)):
                return number
        return None
