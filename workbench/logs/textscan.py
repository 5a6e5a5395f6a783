"""Filtering a text log file (QEMU, libvirt, syslog, dmesg, short-iso): each line read by its
layout (`textlines.text_record`), continuation lines judged with their record (`groups`).

A scan of a byte range [start, end) owns the records whose first line is in it: it skips the
continuation lines it starts in (the range before owns them) and reads on past `end` through
the continuation lines of its last record. So a file split across processes at any line
boundary gives the same lines as one scan. Memory is bounded like the JSON scan's (a block, a
record of at most groups.MAX_LINES lines)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from workbench.logs.filters import LogFilter, _blocks
from workbench.logs.groups import filter_records
from workbench.logs.linetimes import file_year, prefix_end, utc_second
from workbench.logs.records import LogRecord
from workbench.logs.sources import LogLine
from workbench.logs.textlines import any_record

TEXT_SHARE = 0.5  # below this share of sampled lines being JSON objects, a file is text


def is_text(samples: list[bytes]) -> bool:
    """Do the sampled lines look like a text log rather than JSON lines?"""
    lines = [line for line in samples if line.strip()]
    if not lines:
        return False
    objects = sum(1 for line in lines if line.lstrip()[:1] == b"{")
    return objects < len(lines) * TEXT_SHARE


def file_is_text(fd: int) -> bool:
    """Is the open file a text log (by samples spread over it)? For a reader choosing how to
    parse and render its lines (`textlines.any_record` rather than `records.parse_line`)."""
    from workbench.logs.filters import _samples

    return is_text(_samples(fd, os.fstat(fd).st_size))


def is_head(line: bytes) -> bool:
    """Does the line start a record (a time prefix of a known layout, or a JSON object)?"""
    if line[:1] == b"{":
        return True
    return prefix_end(line[:256].decode("utf-8", "replace")) > 0


def _lines(fd: int, start: int, end: int, size: int, grouped: bool) -> Iterator[bytes]:
    skipping = grouped and start > 0
    for block, stop in _blocks(fd, start, end):
        for line in block[:stop].split(b"\n"):
            if not line:
                continue
            if skipping:
                if not is_head(line):
                    continue
                skipping = False
            yield line
    if not grouped or end >= size:
        return
    for block, stop in _blocks(fd, end, size):
        for line in block[:stop].split(b"\n"):
            if not line:
                continue
            if is_head(line):
                return
            yield line


def window_reject(flt: LogFilter) -> Callable[[str], bool] | None:
    """A sure and cheap test that a record's first line is outside --since/--until: its UTC
    ISO time's second, compared as text (`linetimes.utc_second`). None without a window."""
    if flt.since is None and flt.until is None:
        return None
    try:
        low = None if flt.since is None else flt.since.astimezone(UTC).isoformat()[:19]
        high = None if flt.until is None else flt.until.astimezone(UTC).isoformat()[:19]
    except (OverflowError, ValueError):
        return None

    def reject(raw: str) -> bool:
        second = utc_second(raw)
        if second is None:
            return False
        # Within a second of a bound is judged in full (the bound may have a fraction).
        return (low is not None and second < low) or (high is not None and second > high)

    return reject


def scan_text(
    fd: int, flt: LogFilter, start: int, end: int, samples: list[bytes]
) -> Iterator[bytes]:
    """The lines of the records in [start, end) that match `flt`, in file order. Syslog's
    year-less times take the file's modification year."""
    info = os.fstat(fd)
    year = file_year(info.st_mtime) if info.st_mtime > 0 else datetime.now().year
    grouped = any(is_head(line) for line in samples)

    def record_of(line: LogLine) -> LogRecord:
        return any_record(line.number, line.raw, year=year)

    if flt.level is not None:  # only lines that may state a wanted level are read
        from workbench.logs.textlevel import scan_level

        def parse(raw: bytes) -> LogRecord:
            return any_record(0, raw.decode("utf-8", "surrogateescape"), year=year)

        yield from scan_level(fd, flt, start, end, info.st_size, parse, is_head)
        return

    lines = (
        LogLine("file", n, raw.decode("utf-8", "surrogateescape"))
        for n, raw in enumerate(_lines(fd, start, end, info.st_size, grouped), 1)
    )
    for line in filter_records(lines, flt, record_of=record_of, reject=window_reject(flt)):
        yield line.raw.encode("utf-8", "surrogateescape")
