"""The merged timeline of several log files: one row per line, in time order, as packed arrays
(the row's source and its line number there, 5 bytes a row; its level, 1 more), built in
time-boxed steps from `merge_by_time`, then grown by polling the files (follow). A row's text
is read again from its file when shown: no source is loaded whole. The cause catalogue's
matcher is fed every line; the rows its evidence names are `explained`."""

from __future__ import annotations

import re
import threading
import time
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from pathlib import Path

from workbench.core.text import safe_text
from workbench.explain.matcher import Matcher
from workbench.explain.model import CauseMatch
from workbench.logs.merge import merge_by_time
from workbench.logs.records import RANK, parse_line
from workbench.logs.render import render
from workbench.logs.source import LogFileError
from workbench.logs.sources import LogLine
from workbench.ui.view.filesource import FileSource

EXPLAIN_EVERY_S = 1.0  # while following, the causes are worked out again at most this often
SHOWN_CHARS = 2000  # what a row shows (and what a search looks at) of a line


# A group holding a repetition, itself repeated (`(a+)+`, `(\w*x?)*`, `(a|a)+`-like
# backtracking): Python's `re` can take exponential time on one line, holding the GIL, so the UI
# would freeze with it. Such a search is refused rather than run.
_NESTED = re.compile(r"\((?:[^()\\]|\\.)*[*+}](?:[^()\\]|\\.)*\)[*+{]")
_BACKREF = re.compile(r"\\[1-9]")


def risky_pattern(pattern: str) -> str | None:
    """Why `pattern` could take exponential time on a line, or None."""
    if _NESTED.search(pattern):
        return "a repeated group that holds a repetition can take forever on one line"
    if _BACKREF.search(pattern):
        return "back-references can take forever on one line"
    return None


def unique_labels(paths: Sequence[str]) -> list[str]:
    """Each file's name, its whole path where two files share a name."""
    names = [Path(p).name or p for p in paths]
    return [p if names.count(n) > 1 else n for p, n in zip(paths, names, strict=True)]


class Timeline:
    """Rows of several sources merged by time; `step()` merges more, `poll()` follows."""

    def __init__(self, sources: Sequence[FileSource], *, explain: bool = True) -> None:
        self.sources = list(sources)  # every source a row may name, the rotated ones too
        self.active = list(sources)  # those read further (a rotated file's successor)
        self._ids = {s.label: i for i, s in enumerate(self.sources)}
        self.src = bytearray()  # the row's source (an index into `sources`)
        self.num = array("L")  # the row's line number in its source (1-based)
        self.levels = bytearray()  # the row's level rank (255: none)
        self.complete = False  # every line the files held at the start is merged
        self._merge: Iterator[LogLine] = merge_by_time([s.lines() for s in self.sources])
        self._lock = threading.Lock()
        self.matcher = Matcher() if explain else None
        self.explained: dict[int, CauseMatch] = {}
        self._explained_at = 0.0

    def __len__(self) -> int:
        return len(self.num)

    def close(self) -> None:
        for source in self.sources:
            source.close()

    def _add(self, lines: Iterator[LogLine], deadline: float) -> int:
        added = 0
        with self._lock:
            for line in lines:
                sid = self._ids[line.source]
                self.src.append(sid)
                self.levels.append(self.sources[sid].levels[line.number - 1])
                self.num.append(line.number)  # last: its length is the rows' count
                if self.matcher is not None:
                    self.matcher.feed(len(self.num), line.raw, line.source)
                added += 1
                if added % 256 == 0 and time.monotonic() > deadline:
                    return added
        return -added - 1  # the lines ran out

    def step(self, budget_s: float = 0.02) -> int:
        """Merge for about `budget_s` seconds; the rows added (the merge is `complete` once
        the sources' first lines are all in)."""
        if self.complete:
            return 0
        added = self._add(self._merge, time.monotonic() + budget_s)
        if added < 0:
            self.complete = True
            added = -added - 1
            self._explain()
        return added

    def poll(self) -> int:
        """Merge what the files gained since (by time among themselves, after the rows there
        are); the rows added."""
        self._successors()
        added = -self._add(merge_by_time([s.more() for s in self.active]), float("inf")) - 1
        if added and time.monotonic() - self._explained_at > EXPLAIN_EVERY_S:
            self._explain()
        return added

    def _successors(self) -> None:
        """A rotated or truncated file is read on from a new source; the old one stays open
        for the rows it has (a truncated one's rows say they are gone)."""
        for i, source in enumerate(self.active):
            if source.growing or not source.replaced():
                continue
            try:
                successor = FileSource(source.path, source.label, boot_time=source.boot_time)
            except (LogFileError, OSError):
                continue  # not readable yet: the next poll tries again
            with self._lock:
                self.sources.append(successor)
                self._ids[source.label] = len(self.sources) - 1
                self.active[i] = successor

    def _explain(self) -> None:
        self._explained_at = time.monotonic()
        if self.matcher is None:
            return
        found: dict[int, CauseMatch] = {}
        for cause in self.matcher.result().causes:
            for evidence in cause.evidence:
                found.setdefault(evidence.line - 1, cause)
        self.explained = found

    # --- reading a row -------------------------------------------------------------------------

    def label(self, row: int) -> str:
        return self.sources[self.src[row]].label

    def raw(self, row: int) -> bytes:
        return self.sources[self.src[row]].read(self.num[row])

    def shown(self, row: int) -> str:
        """The row as a terminal shows it: a JSON record rendered, a text line as is; every
        control character escaped."""
        data = self.raw(row)
        record = parse_line(row, data)
        if not record.malformed:
            return render(record, width=SHOWN_CHARS)
        return safe_text(record.raw[:SHOWN_CHARS])

    # --- finding rows --------------------------------------------------------------------------

    def find(
        self,
        pattern: re.Pattern[str],
        start: int,
        forward: bool,
        rows: Sequence[int] | None,
        stop: int | None = None,
    ) -> int | None:
        """The first position (a row, or an index into `rows`) from `start` in that direction
        (up to `stop`, inclusive, when given) whose shown text matches `pattern`."""
        count = len(self) if rows is None else len(rows)
        if forward:
            span = range(start, count if stop is None else min(count, stop + 1))
        else:
            span = range(min(start, count - 1), -1 if stop is None else max(-1, stop - 1), -1)
        for pos in span:
            row = pos if rows is None else rows[pos]
            if pattern.search(self.shown(row)):
                return pos
        return None

    def matching(self, pattern: re.Pattern[str], start: int, stop: int) -> list[int]:
        """The rows start..stop whose shown text matches `pattern` (the `&` filter)."""
        return [row for row in range(start, stop) if pattern.search(self.shown(row))]

    def next_level(
        self, level: str, start: int, forward: bool, rows: Sequence[int] | None
    ) -> int | None:
        """The next position from `start` (exclusive) whose level is `level` (error: error or
        worse), found at C speed in the level array."""
        ranks = [RANK[level]] + ([RANK["critical"]] if level == "error" else [])
        if rows is None:
            return _seek(self.levels, ranks, start, forward)
        if not 0 <= start < len(rows):
            return None
        row = rows[start]
        while True:  # the next such row, until one the filter shows
            found = _seek(self.levels, ranks, row, forward)
            if found is None:
                return None
            at = bisect_left(rows, found)
            if at < len(rows) and rows[at] == found:
                return at
            row = found


def _seek(levels: bytearray, ranks: list[int], start: int, forward: bool) -> int | None:
    """The nearest index after (or before) `start` holding one of `ranks`."""
    hits = []
    for rank in ranks:
        mark = bytes([rank])
        hit = levels.find(mark, start + 1) if forward else levels.rfind(mark, 0, max(0, start))
        if hit >= 0:
            hits.append(hit)
    if not hits:
        return None
    return min(hits) if forward else max(hits)
