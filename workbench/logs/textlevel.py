"""A level filter over a text log at near regex speed: a raw-bytes regex finds the lines that
may state a wanted level (a level word before a colon, a priority prefix at a line's start);
only those that start a record are parsed, with their continuation lines. Every other record
states no wanted level (`textlines.line_level` finds a level only where this regex looks), so
skipping it is exact: the result equals `groups.filter_records` over every line.

A scan of [start, end) owns the records whose first line is in it; a record still open at
`end` reads on past it through its continuation lines (as textscan's slow path does)."""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field

from workbench.logs.filters import LogFilter, _blocks
from workbench.logs.groups import MAX_LINES, record_matches
from workbench.logs.records import RANK, LogRecord
from workbench.logs.textlines import _WORDS

Parse = Callable[[bytes], LogRecord]
IsHead = Callable[[bytes], bool]


def candidates(level: str) -> re.Pattern[bytes]:
    """Lines that may state `level` or worse: its words (any ASCII case) before a colon, any
    priority prefix (`<13>`, kmsg's `6,1234,...;`) or a JSON object, judged in full."""
    words = [w.encode() for w, name in _WORDS.items() if RANK[name] >= RANK[level]]
    # QEMU's error_report lines state no word: its program's name, `qemu-kvm: ` too
    qemu = rb"|qemu-(?:system-[A-Za-z0-9_]+|kvm): " if RANK[level] <= RANK["error"] else b""
    return re.compile(
        rb"(?i:" + b"|".join(words) + rb")\s?:|(?m:^)(?:<[0-9]{1,3}>|[0-9]{1,4},[0-9]|\{)" + qemu
    )


@dataclass
class _Open:
    """A record being read: its lines until judged, then whether its lines are kept."""

    lines: list[bytes] = field(default_factory=list)
    keep: bool | None = None


@dataclass(frozen=True)
class _Judge:
    flt: LogFilter
    parse: Parse
    is_head: IsHead

    def __call__(self, lines: list[bytes]) -> bool:
        raws = [line.decode("utf-8", "surrogateescape") for line in lines]
        return record_matches(self.flt, raws, lambda: self.parse(lines[0]))


def _extend(
    record: _Open, block: bytes, pos: int, stop: int, judge: _Judge
) -> Generator[bytes, None, int]:
    """Add the continuation lines at block[pos:stop] to `record` (yielding those of a record
    already judged and kept); return where the next record's first line starts, or a
    position at or past `stop` when the block ends first."""
    while pos < stop:
        cut = block.find(b"\n", pos, stop)
        after = stop + 1 if cut < 0 else cut + 1
        line = block[pos : stop if cut < 0 else cut]
        if line:
            if judge.is_head(line):
                return pos
            if record.keep is None:
                record.lines.append(line)
                if len(record.lines) == MAX_LINES:
                    yield from _close(record, judge)
            elif record.keep:
                yield line
        pos = after
    return pos


def _close(record: _Open, judge: _Judge) -> Iterator[bytes]:
    if record.keep is None:
        record.keep = judge(record.lines)
        if record.keep:
            yield from record.lines
        record.lines = []


def scan_level(
    fd: int, flt: LogFilter, start: int, end: int, size: int, parse: Parse, is_head: IsHead
) -> Iterator[bytes]:
    """The lines of the records in [start, end) that match `flt` (which has a level)."""
    regex = candidates(flt.level or "trace")
    judge = _Judge(flt, parse, is_head)
    current: _Open | None = None
    for block, stop in _blocks(fd, start, end):
        pos = 0
        if current is not None:
            pos = yield from _extend(current, block, 0, stop, judge)
            if pos >= stop:
                continue
            yield from _close(current, judge)
            current = None
        for match in regex.finditer(block, pos, stop):
            if match.start() < pos:
                continue  # in a line already read
            line_start = block.rfind(b"\n", 0, match.start()) + 1
            cut = block.find(b"\n", match.start(), stop)
            line = block[line_start : stop if cut < 0 else cut]
            pos = stop + 1 if cut < 0 else cut + 1
            if not is_head(line):
                continue  # a continuation: its record was judged by its own first line
            current = _Open([line])
            pos = yield from _extend(current, block, pos, stop, judge)
            if pos >= stop:
                break  # still open at the block's end
            yield from _close(current, judge)
            current = None
    if current is None:
        return
    if end < size:
        for block, stop in _blocks(fd, end, size):
            if (yield from _extend(current, block, 0, stop, judge)) < stop:
                break
    yield from _close(current, judge)
