"""The log engine on real files: ours (structlog), lnav's test files, garbage."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import SHARED
from workbench.logs.filters import LogFilter, level_counts, parse_time, scan
from workbench.logs.index import LogIndex
from workbench.logs.records import normalise_level, parse_line
from workbench.logs.render import render
from workbench.logs.source import LogFileError

LNAV = SHARED / "peer-data" / "lnav"


def write_jsonl(path: Path, records: list[dict[str, object]], tail: bytes = b"") -> Path:
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in records) + tail)
    return path


def lnav(name: str) -> Path:
    path = LNAV / name
    if not path.exists():
        pytest.skip("../shared/peer-data/lnav not present")
    return path


@pytest.mark.parametrize(
    ("value", "key", "level"),
    [
        ("ERROR", "lvl", "error"),
        ("warn", "level", "warning"),
        ("DEBUG5", "lvl", "debug"),
        ("LOG", "error_severity", "info"),
        ("FATAL", "error_severity", "critical"),
        ("1", "PRIORITY", "critical"),
        ("6", "PRIORITY", "info"),
        (50, "level", "error"),
        ("Information", "level", "info"),
        ("bogus", "level", None),
        (True, "level", None),
    ],
)
def test_level_spellings(value: object, key: str, level: str | None) -> None:
    """Upper case, aliases, DEBUG5, syslog PRIORITY and pino numbers all normalise."""
    assert normalise_level(value, key) == level


@pytest.mark.parametrize(
    ("name", "line", "level", "message"),
    [
        ("logfile_json.json", 0, "trace", "trace test"),
        ("logfile_nested_json.json", 1, "info", "Starting up service"),
        ("logfile_ecs_log.json", 0, "debug", "this is a debug message num=39"),
        ("logfile_journald.json", 0, "critical", "GPS Reference longitude: 7.358143333"),
        (
            "logfile_postgres_json.json",
            0,
            "info",
            "database system was shut down at 2024-03-14 10:29:55 UTC",
        ),
    ],
)
def test_lnav_formats(name: str, line: int, level: str, message: str) -> None:
    """lnav's JSON test files: lvl/msg, @fields nesting, ECS log.level, journald, postgres."""
    record = parse_line(line, lnav(name).read_bytes().splitlines()[line])
    assert (record.level, record.message) == (level, message)


def test_lnav_invalid_and_mixed_lines_are_kept_raw() -> None:
    """Invalid, truncated and plain-text lines are records marked malformed, text intact."""
    records = [
        parse_line(i, ln)
        for i, ln in enumerate(lnav("logfile_mixed_json2.json").read_bytes().splitlines())
    ]
    malformed = [r.number for r in records if r.malformed]
    assert malformed == [3, 4, 5, 6, 7]
    assert records[4].raw.startswith("panic: foo bar failed baz")
    bad = parse_line(2, lnav("logfile_invalid_json.json").read_bytes().splitlines()[2])
    assert bad.malformed and '"Shutting down service"' in bad.raw


def test_filters_over_lnav_files_parse_everything() -> None:
    """On small mixed files the level filter parses every line: exact answers."""
    fd = os.open(lnav("logfile_json.json"), os.O_RDONLY)
    try:
        lines = list(scan(fd, LogFilter(level="warning")))
    finally:
        os.close(fd)
    levels = [parse_line(0, ln).level for ln in lines]
    assert levels and all(lv in ("warning", "error", "critical") for lv in levels)


def test_fast_and_slow_paths_agree(tmp_path: Path) -> None:
    """A uniform structlog file (fast path) and the same records re-keyed (slow path) give the
    same lines, in order, for every level."""
    levels = ["debug", "info", "warning", "error", "critical", "ERROR", "Warning", "err"]
    records = [
        {
            "timestamp": f"2026-11-01T00:00:{i % 60:02d}Z",
            "level": levels[i % 8],
            "event": f"e{i}",
            "vm": "win11" if i % 3 else "gaming",
        }
        for i in range(4000)
    ]
    fast = write_jsonl(tmp_path / "fast.jsonl", records)
    slow = write_jsonl(
        tmp_path / "slow.jsonl",
        [{**r, "lvl": r["level"], "level": None} if i % 2 else r for i, r in enumerate(records)],
    )
    for level in ("warning", "error", "critical"):
        got = []
        for path in (fast, slow):
            fd = os.open(path, os.O_RDONLY)
            got.append([json.loads(ln)["event"] for ln in scan(fd, LogFilter(level=level))])
            os.close(fd)
        expected = [
            r["event"]
            for r in records
            if (normalise_level(r["level"]) or "")
            in {
                "warning": ("warning", "error", "critical"),
                "error": ("error", "critical"),
                "critical": ("critical",),
            }[level]
        ]
        assert got[0] == expected
        assert got[1] == expected


def test_combined_filters(tmp_path: Path) -> None:
    """level, vm, probe, logger, grep and a time window all apply together."""
    path = write_jsonl(
        tmp_path / "l.jsonl",
        [
            {
                "timestamp": "2026-11-01T10:00:00Z",
                "level": "error",
                "event": "a",
                "vm": "win11",
                "probe": "guest.agent",
                "logger": "workbench.virt.agent",
            },
            {
                "timestamp": "2026-11-01T11:00:00Z",
                "level": "error",
                "event": "b",
                "vm": "win11",
                "probe": "guest.agent",
                "logger": "workbench.virt.agent",
            },
            {"timestamp": "2026-11-01T11:30:00Z", "level": "info", "event": "c", "vm": "win11"},
            {
                "timestamp": "2026-11-01T12:00:00Z",
                "level": "error",
                "event": "timeout d",
                "vm": "gaming",
                "probe": "guest.agent",
            },
        ],
    )
    fd = os.open(path, os.O_RDONLY)
    try:

        def events(flt: LogFilter) -> list[str]:
            return [json.loads(ln)["event"] for ln in scan(fd, flt)]

        assert events(LogFilter(level="error", vm="win11")) == ["a", "b"]
        assert events(LogFilter(probe="guest.agent", since=parse_time("2026-11-01T10:30:00Z"))) == [
            "b",
            "timeout d",
        ]
        assert events(
            LogFilter(logger="workbench.virt.agent", until=parse_time("2026-11-01T10:00:00Z"))
        ) == ["a"]
        import re

        assert events(LogFilter(grep=re.compile("time(out)? d"))) == ["timeout d"]
        assert level_counts(fd)["error"] == 3
    finally:
        os.close(fd)


def test_parse_time_forms() -> None:
    """ISO with or without zone, epoch s/ms/µs, relative; garbage is None."""
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_time("2026-11-01T10:00:00Z") == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert parse_time("2024-03-14 10:30:00.123 UTC") is not None
    assert parse_time(1534860261221373) == parse_time(1534860261.221373)
    assert parse_time("10m", now) == datetime(2026, 11, 22, 11, 50, tzinfo=UTC)
    assert parse_time("yesterday") is None


def test_index_tail_lines_and_partial_last_line(tmp_path: Path) -> None:
    """The last page comes from the end at once; a static view shows a final line without its
    newline; the index is a packed array of 8 bytes a line."""
    path = write_jsonl(
        tmp_path / "l.jsonl",
        [{"level": "info", "event": f"e{i}"} for i in range(1000)],
        tail=b'{"event": "last"}',
    )
    index = LogIndex(path)
    assert [json.loads(x)["event"] for x in index.tail(3)] == ["e998", "e999", "last"]
    index.index_all()
    assert index.line_count == 1001
    assert index.record(1000).message == "last"
    assert index.memory_bytes() <= 1001 * 8 + 64
    assert index.next_match(0, lambda r: r.message == "e500") == 500


def test_index_follows_growth_and_truncation(tmp_path: Path) -> None:
    """A following index waits for a partial line, takes appended lines, resets on truncation."""
    path = tmp_path / "l.jsonl"
    path.write_bytes(b'{"event": "a"}\n{"event": "b')
    index = LogIndex(path, following=True)
    index.index_all()
    assert index.line_count == 1
    with path.open("ab") as fh:
        fh.write(b'"}\n')
    assert index.refresh()
    index.index_all()
    assert [index.record(i).message for i in range(index.line_count)] == ["a", "b"]
    path.write_bytes(b'{"event": "new"}\n')
    index.refresh()
    index.index_all()
    assert (index.truncations, index.record(0).message) == (1, "new")


def test_very_long_line_is_kept_whole_and_shown_cut(tmp_path: Path) -> None:
    """A 6 MB line is one record; its display is cut, its raw text is not."""
    long = {"event": "big", "blob": "x" * (6 << 20)}
    path = write_jsonl(tmp_path / "l.jsonl", [{"event": "a"}, long, {"event": "c"}])
    index = LogIndex(path)
    index.index_all()
    assert index.line_count == 3
    record = index.record(1)
    assert len(record.raw) > 6 << 20
    assert len(render(record, width=120)) < 200


def test_binary_garbage_does_not_crash(tmp_path: Path) -> None:
    """Random bytes with NULs: raw malformed records, control characters escaped on output."""
    path = tmp_path / "bin.log"
    path.write_bytes(bytes(range(256)) * 40 + b"\n\x00\x1b[31mred\n")
    index = LogIndex(path)
    index.index_all()
    records = index.records(0, index.line_count)
    assert records and all(r.malformed for r in records)
    shown = render(records[-1])
    assert "\x1b" not in shown and "\\x1b" in shown
    fd = os.open(path, os.O_RDONLY)
    assert list(scan(fd, LogFilter(level="error"))) == []
    os.close(fd)


def test_missing_and_non_regular_files(tmp_path: Path) -> None:
    """A missing file or a directory is a LogFileError naming it."""
    with pytest.raises(LogFileError, match="no such file"):
        LogIndex(tmp_path / "nope.log")
    with pytest.raises(LogFileError, match="not a regular file"):
        LogIndex(tmp_path)
