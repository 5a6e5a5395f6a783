"""Continuation lines stay with their record: in a text log, a line without a time (a
traceback's `  File ...`, an indented detail) that follows a timed line of the same source
belongs to that line's record. Filters judge the record (its first line for level, logger,
vm, probe and time; any of its lines for --grep) and keep or drop its lines together.

Streams, so it works on followed and merged sources: a record is complete when the next
line of its source starts a record, when a line of another source comes, or at the end. A
continuation that arrives after its record was judged (its source's lines interleaved with
another's) follows that judgement. A record holds at most MAX_LINES lines; a longer run of
continuations is judged in pieces, each by its first record's judgement."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache

from workbench.logs.filters import LogFilter
from workbench.logs.linetimes import prefix_end
from workbench.logs.records import LogRecord
from workbench.logs.sources import LogLine
from workbench.logs.textlines import any_record

MAX_LINES = 1000


@dataclass
class Record:
    """A record's lines, all of one source. `continued`: it holds only continuation lines of
    a record already handed out (its head came earlier)."""

    lines: list[LogLine] = field(default_factory=list)
    continued: bool = False

    @property
    def source(self) -> str:
        return self.lines[0].source


def starts_record(line: LogLine) -> bool:
    """A line that begins a record: it has a time, is a JSON object, or starts with the time
    prefix of a known layout (dmesg's `[  12.3]` is one even when the boot time is unknown,
    `2025-13-01T...` one though no calendar has that month)."""
    return line.time is not None or line.raw[:1] == "{" or prefix_end(line.raw) > 0


def group_records(lines: Iterable[LogLine]) -> Iterator[Record]:
    """`lines` (one source, or several merged) as records with their continuation lines. A
    timeless line continues a record only once its source has had a timed one: a file of an
    unknown layout (no line has a time) is one record per line."""
    current: Record | None = None
    timed: set[str] = set()  # sources that have had a record-starting line
    for line in lines:
        head = starts_record(line)
        follows = not head and line.source in timed
        if head:
            timed.add(line.source)
        if (
            current is not None
            and follows
            and line.source == current.source
            and len(current.lines) < MAX_LINES
        ):
            current.lines.append(line)
            continue
        if current is not None:
            yield current
        current = Record([line], continued=follows)
    if current is not None:
        yield current


def filter_records(
    lines: Iterable[LogLine],
    flt: LogFilter,
    *,
    record_of: Callable[[LogLine], LogRecord] | None = None,
    reject: Callable[[str], bool] | None = None,
) -> Iterator[LogLine]:
    """The lines of the records that match `flt`, each record whole. `record_of` turns a line
    into a LogRecord (default: JSON parsed, text by its layout, times from the LogLine);
    `reject(first line)`, when given, rules a record out before it is parsed (it must be
    sure: a quick test of what `flt` would judge on that line)."""
    records = RecordFilter(flt, record_of=record_of, reject=reject)
    for line in lines:
        yield from records.feed(line)
    yield from records.flush()


class RecordFilter:
    """`filter_records` a line at a time, for followed sources: `feed` each line and show
    what it returns. Without --grep a record is judged by its first line at once, and its
    continuation lines pass as they come. With --grep a record's lines wait until it ends
    (the next record starts) or until `flush()`, which a follower calls when its sources are
    quiet; continuation lines after a flush follow the record's judgement."""

    def __init__(
        self,
        flt: LogFilter,
        *,
        record_of: Callable[[LogLine], LogRecord] | None = None,
        reject: Callable[[str], bool] | None = None,
    ) -> None:
        self.flt = flt
        self.reject = reject
        self.empty = flt.empty  # asked of every line: a dataclass comparison, once
        self.parse = record_of or _record
        self.kept: dict[str, bool] = {}  # per source: was its last judged record kept?
        self.timed: set[str] = set()  # sources that have had a record-starting line
        self.pending: list[LogLine] = []  # --grep: the open record, not yet judged

    def feed(self, line: LogLine) -> list[LogLine]:
        """The lines to show now that `line` came (possibly none, possibly earlier ones)."""
        head = starts_record(line)
        follows = not head and line.source in self.timed
        if head:
            self.timed.add(line.source)
        pending = self.pending
        if pending and follows and line.source == pending[0].source and len(pending) < MAX_LINES:
            pending.append(line)
            return []
        out = self.flush()
        if follows:
            if self.kept.get(line.source, self.empty):
                out.append(line)
        elif self.flt.grep is not None:
            self.pending = [line]
        elif self._judge([line]):
            out.append(line)
        return out

    def flush(self) -> list[LogLine]:
        """Judge the open record (--grep) now: its lines if it matches."""
        lines, self.pending = self.pending, []
        return lines if lines and self._judge(lines) else []

    def _judge(self, lines: list[LogLine]) -> bool:
        flt = self.flt
        if not self.empty and self.reject is not None and self.reject(lines[0].raw):
            keep = False
        else:
            keep = self.empty or record_matches(
                flt, [line.raw for line in lines], lambda: self.parse(lines[0])
            )
        self.kept[lines[0].source] = keep
        return keep


def record_matches(flt: LogFilter, raws: list[str], head: Callable[[], LogRecord]) -> bool:
    """Does a record match? --grep matches any of its lines (`raws`, as written); everything
    else is judged on its first line, parsed by `head()` only when --grep has not already
    ruled the record out (parsing is the costly part)."""
    grep = flt.grep
    if grep is not None:
        if not any(grep.search(raw) for raw in raws):
            return False
        rest = _without_grep(flt)
        return rest.empty or rest.matches(head())
    return flt.matches(head())


@lru_cache(maxsize=16)
def _without_grep(flt: LogFilter) -> LogFilter:
    return replace(flt, grep=None)


def _record(line: LogLine) -> LogRecord:
    from workbench.logs.textlines import iso

    record = any_record(line.number, line.raw)
    if record.timestamp is None and line.time is not None:
        record.timestamp = iso(line.time)  # a dmesg time anchored by its source
    return record
