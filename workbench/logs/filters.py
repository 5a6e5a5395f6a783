"""Filtering a whole file fast: a raw-bytes pre-scan finds candidate lines, only those (and lines
of unusual shape) are parsed.

The plan is learned from samples spread over the file: which key holds the level and how it is
written (`"level": "`). When every sampled line carries that key exactly once, a regex over the
raw bytes finds the lines whose level is wanted (or unusual, which are then parsed); otherwise
every line is parsed. The fast path trusts the samples: a line that spells its level under
another key, in a file whose samples all agree, is not found by a level filter.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from workbench.logs.records import _ALIASES, LEVEL_KEYS, RANK, LogRecord, parse_line

CHUNK = 16 << 20
SAMPLE = 64 << 10
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


_RELATIVE = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_time(value: Any, now: datetime | None = None) -> datetime | None:
    """ISO 8601 (with or without zone: UTC assumed), epoch seconds/ms/µs, or a relative `10m`,
    `2h`, `1d` (before `now`). None when it is none of those."""
    if value is None:
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        number = float(value)
        for scale in (1, 1e3, 1e6, 1e9):  # seconds, ms, µs, ns: the one that lands in 1970-2200
            if number / scale < 7.3e9:
                return datetime.fromtimestamp(number / scale, UTC)
        return None
    text = str(value).strip()
    rel = _RELATIVE.match(text)
    if rel:
        delta = timedelta(**{_UNITS[rel.group(2)]: int(rel.group(1))})
        return (now or datetime.now(UTC)) - delta
    text = text.replace(" UTC", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _Plan:
    key_token: bytes  # b'"level": "'
    regex: re.Pattern[bytes]  # finds the key where the value may be a wanted level
    wanted: tuple[bytes, ...]  # spellings of wanted levels, each followed by its closing quote


def _spellings(names: set[str]) -> set[bytes]:
    out = set()
    for alias, level in _ALIASES.items():
        if level in names:
            out |= {alias.encode(), alias.upper().encode(), alias.capitalize().encode()}
    return out


def _plan(fd: int, size: int, level: str | None) -> _Plan | None:
    """A raw-bytes plan for a level filter, if the sampled lines share one level key shape."""
    if level is None:
        return None
    shapes: set[bytes] = set()
    for start in sorted(
        {min(max(0, size - SAMPLE), size * k // SAMPLES) for k in range(SAMPLES)}
        | {max(0, size - SAMPLE)}
    ):
        data = os.pread(fd, SAMPLE, start)
        lines = data.split(b"\n")[1:-1] if start else data.split(b"\n")[:-1]
        for line in lines:
            found = {m.group(0) for m in _KEY_SHAPE.finditer(line)}
            if len(found) != 1:
                return None  # no level key, several, or a nested one: parse it all
            shapes |= found
    if len(shapes) != 1:
        return None
    token = shapes.pop()
    wanted = _spellings({name for name in RANK if RANK[name] >= RANK[level]})
    # A wanted level's value starts with one of these letters: a literal and one character
    # class is a regex that runs near memory speed. Candidates are then checked in full.
    letters = b"".join(re.escape(c) for c in sorted({w[:1] for w in wanted}))
    regex = re.compile(re.escape(token) + rb"[" + letters + rb"]")
    return _Plan(token, regex, tuple(w + b'"' for w in wanted))


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
        known = block.startswith(plan.wanted, match.start() + len(plan.key_token))
        if (known and only_level) or flt.matches(parse_line(0, line)):
            yield line


def _blocks(fd: int, start: int, size: int) -> Iterator[tuple[bytes, int]]:
    """The file from `start` as (chunk, end): chunk[:end] holds whole lines only (the very last
    line of the file may lack its newline). Chunks are not copied: `end` marks where to stop."""
    pos = start
    want = CHUNK
    while pos < size:
        data = os.pread(fd, min(want, size - pos), pos)
        if not data:
            break
        cut = data.rfind(b"\n")
        if cut < 0 and pos + len(data) < size:
            want *= 2  # one very long line: read more of it at once
            continue
        end = len(data) if cut < 0 or pos + len(data) >= size else cut + 1
        yield data, end
        pos += end
        want = CHUNK


def seek_time(fd: int, size: int, since: datetime) -> int:
    """The offset of the first line at or after `since`, by bisection; logs are written in time
    order, so lines before it are older. Lines without a readable time are stepped over."""
    low, high = 0, size
    while high - low > SAMPLE:
        mid = (low + high) // 2
        data = os.pread(fd, SAMPLE, mid)
        first = data.find(b"\n")
        when = None
        at = first + 1
        while first >= 0 and when is None:
            end = data.find(b"\n", at)
            if end < 0:
                break
            when = parse_time(parse_line(0, data[at:end]).timestamp)
            at = end + 1
        if when is None:
            break  # no time found near here: scan from `low`
        if when < since:
            low = mid + first + 1
        else:
            high = mid
    if low == 0:
        return 0
    back = os.pread(fd, SAMPLE, max(0, low - SAMPLE))
    return max(0, low - SAMPLE) + back.rfind(b"\n") + 1


def scan(fd: int, flt: LogFilter, start: int = 0, size: int | None = None) -> Iterator[bytes]:
    """Every line of the file (from `start`) that matches `flt`, in file order, without its
    newline."""
    end = os.fstat(fd).st_size if size is None else size
    if flt.since is not None:
        start = max(start, seek_time(fd, end, flt.since))
    plan = _plan(fd, end, flt.level)
    for block, stop in _blocks(fd, start, end):
        if flt.empty:
            yield from (line for line in block[:stop].split(b"\n") if line)
        elif plan is not None:
            yield from _fast(block, stop, flt, plan)
        else:
            yield from _slow(block, stop, flt)


def level_counts(fd: int) -> dict[str, int]:
    """How many lines of each level (and `none` for lines without one)."""
    counts = dict.fromkeys([*RANK, "none"], 0)
    for block, stop in _blocks(fd, 0, os.fstat(fd).st_size):
        for line in block[:stop].split(b"\n"):
            if line:
                counts[parse_line(0, line).level or "none"] += 1
    return counts
