"""Filtering a whole file fast: a raw-bytes pre-scan finds candidate lines, only those (and lines
of unusual shape) are parsed.

The plan is learned from samples spread over the file: which key holds the level. When every
sampled line carries that key exactly once, a regex over the raw bytes finds the lines whose level
may be wanted (a wanted spelling, or anything unusual: odd case, whitespace, a JSON escape, which
are then parsed); otherwise every line is parsed. journald's PRIORITY (`"PRIORITY":"3"`, a
digit in a string) is learned the same way: the digits of wanted levels are found in the raw
bytes. The fast path trusts the samples: a line that spells its level under another key, with
other spacing around the colon, or as a number, in a file whose samples all agree, is not found
by a level filter.

A text log (most sampled lines are not JSON objects: QEMU, libvirt, syslog, dmesg) is read by
its layout instead, its continuation lines kept with their record (`textscan`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from workbench.logs.records import (
    _ALIASES,
    _SYSLOG,
    LEVEL_KEYS,
    LINE_KEEP,
    RANK,
    LogRecord,
    cut_line,
    parse_line,
)
from workbench.logs.times import parse_time
from workbench.logs.window import in_window, time_key, window

__all__ = ["LogFilter", "level_counts", "parse_time", "scan"]

CHUNK = 16 << 20
SAMPLE = 64 << 10
_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SAMPLES = 8  # evenly spread regions (and the end) the plan is learned from
_KEY_SHAPE = re.compile(
    rb'"(' + b"|".join(re.escape(k.encode()) for k in LEVEL_KEYS) + rb')"(\s*:\s*)"'
)


@dataclass(frozen=True)
class LogFilter:
    """What a line must be to match. Every given condition must hold."""

    level: str | None = None  # at least this level
    logger: str | None = None
    vm: str | None = None
    probe: str | None = None
    grep: re.Pattern[str] | None = None  # over the raw line
    since: datetime | None = None
    until: datetime | None = None

    @property
    def empty(self) -> bool:
        return self == LogFilter()

    def matches(self, record: LogRecord) -> bool:
        if self.level is not None and not record.at_least(self.level):
            return False
        if self.logger is not None and record.logger != self.logger:
            return False
        if self.vm is not None and record.vm != self.vm:
            return False
        if self.probe is not None and record.probe != self.probe:
            return False
        if self.grep is not None and not self.grep.search(record.raw):
            return False
        if self.since is not None or self.until is not None:
            when = parse_time(record.timestamp)
            if when is None:
                return False
            if self.since is not None and when < self.since:
                return False
            if self.until is not None and when > self.until:
                return False
        return True


@dataclass(frozen=True)
class _Plan:
    regex: re.Pattern[bytes]  # the level key, an opening quote and a first letter maybe wanted
    wanted: tuple[bytes, ...]  # spellings of wanted levels, quoted


def _spellings(names: set[str]) -> set[bytes]:
    out = set()
    for alias, level in _ALIASES.items():
        if level in names:
            out |= {alias.encode(), alias.upper().encode(), alias.capitalize().encode()}
    return out


def _samples(fd: int, size: int) -> list[bytes]:
    """Whole lines from evenly spread regions of the file (and its end)."""
    lines: list[bytes] = []
    for start in sorted(
        {min(max(0, size - SAMPLE), size * k // SAMPLES) for k in range(SAMPLES)}
        | {max(0, size - SAMPLE)}
    ):
        data = os.pread(fd, SAMPLE, start)
        lines += data.split(b"\n")[1:-1] if start else data.split(b"\n")[:-1]
    return lines


def _plan(fd: int, size: int, level: str | None) -> _Plan | None:
    """A raw-bytes plan for a level filter, if the sampled lines share one level key."""
    if level is None:
        return None
    shapes: set[tuple[bytes, bytes]] = set()
    for line in _samples(fd, size):
        found = {(m.group(1), m.group(2)) for m in _KEY_SHAPE.finditer(line)}
        if len(found) != 1:
            return None  # no level key, several, or a nested one: parse it all
        shapes |= found
    if len(shapes) != 1:
        return None
    key, sep = shapes.pop()
    if key == b"PRIORITY":
        return _priority_plan(sep, level)
    wanted = _spellings({name for name in RANK if RANK[name] >= RANK[level]})
    # Only a string starting with a letter that begins no wanted level, in either case, is
    # surely unwanted; anything else (a wanted letter, whitespace, an escape, a number) is a
    # candidate, checked in full. The key as sampled and one negated class: near memory speed
    # (a second branch for other spacing around the colon cost 13% of the whole filter).
    starts = {c for w in wanted for c in (w[:1].lower(), w[:1].upper())}
    unwanted = bytes(c for c in _LETTERS if bytes([c]) not in starts)
    quoted = rb'"[^' + unwanted + rb"]"
    head = b'"' + re.escape(key) + b'"'
    regex = re.compile(head + re.escape(sep) + quoted)
    return _Plan(regex, tuple(b'"' + w + b'"' for w in wanted))


def _priority_plan(sep: bytes, level: str) -> _Plan:
    """journald's PRIORITY: a digit 0-7 in a string (`"PRIORITY":"4"`). A line whose value
    starts with a wanted digit, or with anything but a digit 0-7 (an escape, a space), is a
    candidate; one starting with an unwanted digit is surely unwanted (`"6"`, or `"61"`, which
    is no level at all)."""
    digits = [str(n).encode() for n, name in enumerate(_SYSLOG) if RANK[name] >= RANK[level]]
    head = b'"PRIORITY"' + re.escape(sep)
    regex = re.compile(head + b'"(?:[' + b"".join(digits) + b"]|[^0-7])")
    return _Plan(regex, tuple(b'"' + d + b'"' for d in digits))


def _line_at(block: bytes, pos: int, end: int) -> tuple[int, int]:
    start = block.rfind(b"\n", 0, pos) + 1
    stop = block.find(b"\n", pos, end)
    return start, end if stop < 0 else stop


def _slow(block: bytes, end: int, flt: LogFilter) -> Iterator[bytes]:
    for line in block[:end].split(b"\n"):
        if line and flt.matches(parse_line(0, line)):
            yield line


def _fast(block: bytes, end: int, flt: LogFilter, plan: _Plan) -> Iterator[bytes]:
    only_level = flt == LogFilter(level=flt.level)
    last_start = -1
    for match in plan.regex.finditer(block, 0, end):
        start, stop = _line_at(block, match.start(), end)
        if start == last_start:
            continue
        last_start = start
        line = block[start:stop]
        known = block.startswith(plan.wanted, match.end() - 2)
        if (known and only_level) or flt.matches(parse_line(0, line)):
            yield line


def _line_end(fd: int, pos: int, size: int) -> int:
    """Where the line at `pos` ends (its newline, or `size`), read in bounded pieces."""
    while pos < size:
        data = os.pread(fd, min(CHUNK, size - pos), pos)
        if not data:
            return pos
        cut = data.find(b"\n")
        if cut >= 0:
            return pos + cut
        pos += len(data)
    return size


def _blocks(fd: int, start: int, size: int) -> Iterator[tuple[bytes, int]]:
    """The file from `start` as (chunk, end): chunk[:end] holds whole lines only (the very last
    line of the file may lack its newline). Chunks are not copied: `end` marks where to stop.
    A line longer than a chunk comes cut (`cut_line`): memory stays bounded by CHUNK."""
    pos = start
    while pos < size:
        data = os.pread(fd, min(CHUNK, size - pos), pos)
        if not data:
            break
        cut = data.rfind(b"\n")
        if cut < 0 and pos + len(data) < size:
            stop = _line_end(fd, pos + len(data), size)
            line = cut_line(data[:LINE_KEEP], stop - pos) + b"\n"
            yield line, len(line)
            pos = stop + 1
            continue
        end = len(data) if cut < 0 or pos + len(data) >= size else cut + 1
        yield data, end
        pos += end


def scan(fd: int, flt: LogFilter, start: int = 0, size: int | None = None) -> Iterator[bytes]:
    """Every line of the file (from `start`) that matches `flt`, in file order, without its
    newline. A text log (most sampled lines are not JSON objects) is read by its layout, its
    continuation lines kept with their record (`textscan`)."""
    end = os.fstat(fd).st_size if size is None else size
    if not flt.empty:
        samples = _samples(fd, os.fstat(fd).st_size)
        from workbench.logs.textscan import is_text, scan_text

        if is_text(samples):
            yield from scan_text(fd, flt, start, end, samples)
            return
    # --since/--until are checked on every line by its own time: a clock stepped back (or
    # merged files) puts older lines after newer ones, so the file cannot be bisected.
    plan = _plan(fd, end, flt.level)
    win = None
    if plan is None and (flt.since is not None or flt.until is not None):
        win = window(flt.since, flt.until, time_key(_samples(fd, end)))
    for block, stop in _blocks(fd, start, end):
        if flt.empty:
            yield from (line for line in block[:stop].split(b"\n") if line)
        elif plan is not None:
            yield from _fast(block, stop, flt, plan)
        else:
            found = None if win is None else in_window(block, stop, win, flt.matches)
            yield from _slow(block, stop, flt) if found is None else found


def level_counts(fd: int) -> dict[str, int]:
    """How many lines of each level (and `none` for lines without one)."""
    counts = dict.fromkeys([*RANK, "none"], 0)
    for block, stop in _blocks(fd, 0, os.fstat(fd).st_size):
        for line in block[:stop].split(b"\n"):
            if line:
                counts[parse_line(0, line).level or "none"] += 1
    return counts
