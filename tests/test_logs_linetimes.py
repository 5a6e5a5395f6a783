"""Times, levels and continuation lines of text logs: QEMU, libvirt, journalctl short-iso,
syslog, dmesg (anchored to the boot time), dmesg -T, /dev/kmsg; tracebacks stay with their
record through the level, grep and vm filters."""

from __future__ import annotations

import json
import math
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli
from workbench.logs.filters import LogFilter, scan
from workbench.logs.groups import MAX_LINES, RecordFilter, filter_records, group_records
from workbench.logs.linetimes import (
    boot_time_from_stat,
    boot_time_now,
    file_year,
    line_time,
    prefix_end,
    split_time,
)
from workbench.logs.merge import merge_by_time
from workbench.logs.records import LogRecord
from workbench.logs.render import render, render_line
from workbench.logs.sources import LogLine
from workbench.logs.textlines import any_record, line_level, text_record
from workbench.logs.textscan import file_is_text

BOOT = 1_764_403_000.0  # the boot time dmesg lines are anchored to


def utc(*parts: int, micro: int = 0) -> float:
    return datetime(*parts, micro, tzinfo=UTC).timestamp()  # type: ignore[misc]


def local(*parts: int) -> float:
    return datetime(*parts).timestamp()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # QEMU's own log lines (-msg timestamp=on)
        (
            "2025-11-29T08:00:03.000000Z qemu-system-x86_64: -device vfio-pci: error",
            utc(2025, 11, 29, 8, 0, 3),
        ),
        ("2025-11-29T08:00:03.5Z qemu", utc(2025, 11, 29, 8, 0, 3, micro=500_000)),
        # libvirt's QEMU log header
        ("2025-11-29 08:00:01.000+0000: starting up libvirt version", utc(2025, 11, 29, 8, 0, 1)),
        ("2025-11-29 08:00:01.250+0000: shutting down", utc(2025, 11, 29, 8, 0, 1, micro=250_000)),
        # journalctl -o short-iso / short-iso-precise
        ("2025-11-29T09:00:01+0100 hv1 kernel: x", utc(2025, 11, 29, 8, 0, 1)),
        (
            "2025-11-29T03:00:01.000001-05:00 hv1 libvirtd[1]: x",
            utc(2025, 11, 29, 8, 0, 1, micro=1),
        ),
        ("2025-11-29T08:00:01 no zone is UTC", utc(2025, 11, 29, 8, 0, 1)),
        # syslog / kern.log: local time, the year given
        ("Nov 29 08:00:01 hv1 kernel: vfio-pci 0000:01:00.0: reset", local(2025, 11, 29, 8, 0, 1)),
        ("Feb  3 23:59:59 hv1 libvirtd[1]: x", local(2025, 2, 3, 23, 59, 59)),
        # journalctl -o short-precise
        ("Nov 29 08:00:01.250000 hv1 kernel: x", local(2025, 11, 29, 8, 0, 1) + 0.25),
        # dmesg: seconds since boot
        ("[   12.345678] pci 0000:01:00.0: [10de:2684]", BOOT + 12.345678),
        ("[0.000000] Linux version 6.8", BOOT),
        ("<3>[   12.5] vfio-pci: BAR 0 failed", BOOT + 12.5),
        # dmesg -T: local wall time
        (
            "[Sat Nov 29 08:00:01 2025] vfio-pci 0000:01:00.0: enabling device",
            local(2025, 11, 29, 8, 0, 1),
        ),
        # /dev/kmsg: priority, sequence, microseconds since boot, flags
        ("3,1234,12345678,-;vfio-pci 0000:01:00.0: BAR 0", BOOT + 12.345678),
        # JSON records: their time key
        ('{"timestamp": "2025-11-29T08:00:01Z", "event": "x"}', utc(2025, 11, 29, 8, 0, 1)),
        ('{"__REALTIME_TIMESTAMP": "1764403201000000"}', utc(2025, 11, 29, 8, 0, 1)),
        # no time
        ('  File "/usr/lib/python3/x.py", line 3, in f', None),
        ("Traceback (most recent call last):", None),
        ("ZeroDivisionError: division by zero", None),
        ("", None),
        ("[", None),
        ("Nov 31 08:00:01 hv1 no such day", None),
        ("2025-13-29T08:00:01Z no such month", None),
        ("2025-11-29T08:00:01Zjunk", None),
        ("12345 a number", None),
        ("Monday was fine", None),
    ],
)
def test_line_time_table(raw: str, expected: float | None) -> None:
    """Each layout's time, in epoch seconds; lines without one are None."""
    assert line_time(raw, boot_time=BOOT, year=2025) == expected


def test_dmesg_without_a_boot_time_has_no_time() -> None:
    """A monotonic dmesg or kmsg time is no wall time when the boot time is unknown."""
    assert line_time("[   12.345678] pci") is None
    assert line_time("3,1,12345678,-;pci") is None


def test_syslog_year_defaults_to_this_year_and_files_give_theirs(tmp_path: Path) -> None:
    """Without `year=` syslog's time is this year's; file_year is a file's mtime year."""
    when = line_time("Jan  1 00:00:00 hv1 x")
    assert when is not None and datetime.fromtimestamp(when).year == datetime.now().year
    path = tmp_path / "kern.log"
    path.write_text("x\n")
    os.utime(path, (local(2023, 6, 1, 0, 0, 0), local(2023, 6, 1, 0, 0, 0)))
    assert file_year(path.stat().st_mtime) == 2023


def test_time_is_looked_for_in_the_head_only() -> None:
    """A megabyte line costs no more than its head: its time is found, its tail ignored."""
    raw = "2025-11-29T08:00:03Z " + "x" * (1 << 20)
    assert split_time(raw) == (utc(2025, 11, 29, 8, 0, 3), 20)
    assert line_time("x" * (1 << 20) + "2025-11-29T08:00:03Z") is None


@pytest.mark.parametrize(
    ("raw", "level"),
    [
        ("2025-11-29T08:00:03.000000Z qemu-system-x86_64: warning: host lacks x2apic", "warning"),
        ("2025-11-29T08:00:03.000000Z qemu-system-x86_64: -device vfio-pci: error: x", "error"),
        ("2025-11-29 08:00:01.000+0000: 1234: error : qemuProcessStart: failed", "error"),
        ("<3>[   12.5] vfio-pci: BAR 0 failed", "error"),
        ("<4>[   12.5] something", "warning"),
        ("6,1234,12345678,-;pci 0000:01:00.0", "info"),
        ("0,1,1,-;panic", "critical"),
        ("2025-11-29 08:00:01.000+0000: starting up libvirt version: 10.0.0", None),
        ("[   12.5] pci 0000:01:00.0: [10de:2684] type 00 class 0x030000", None),
        ("Nov 29 08:00:01 hv1 kernel: the error counter is 0", None),
    ],
)
def test_text_line_levels(raw: str, level: str | None) -> None:
    """The level a text layout states: kmsg priorities, QEMU and libvirt words."""
    assert line_level(raw, split_time(raw, boot_time=BOOT)[1]) == level


def test_text_record_renders_time_level_message() -> None:
    """A QEMU line as a record: ISO time, level, the message after the time prefix."""
    record = text_record(1, "2025-11-29T08:00:03.000000Z qemu-system-x86_64: warning: \x1b[2Jx")
    assert record.timestamp == "2025-11-29T08:00:03.000000Z"
    assert record.at_least("warning")
    shown = render(record)
    assert shown.startswith("2025-11-29T08:00:03.000000Z WARNING  qemu-system-x86_64: warning:")
    assert "\x1b" not in shown
    assert render(text_record(2, '  File "x.py", line 3')) == '  File "x.py", line 3'


def lines_of(source: str, text: str) -> list[LogLine]:
    """A text source's lines as its reader makes them: times by line_time."""
    return [
        LogLine(source, n, raw, line_time(raw, boot_time=BOOT))
        for n, raw in enumerate(text.splitlines(), 1)
    ]


QEMU = """\
2025-11-29T08:00:01.000000Z qemu-system-x86_64: starting
2025-11-29T08:00:03.000000Z qemu-system-x86_64: error: vfio 0000:01:00.0: failed
Traceback (most recent call last):
  File "/usr/share/x.py", line 3, in reset
ZeroDivisionError: division by zero
2025-11-29T08:00:05.000000Z qemu-system-x86_64: warning: x2apic
    indented detail of the warning
2025-11-29T08:00:07.000000Z qemu-system-x86_64: info
    detail that mentions vfio
"""


def test_group_records_keeps_continuation_lines_with_their_record() -> None:
    """Timeless lines after a timed one are that record's; each record starts timed."""
    groups = [[line.raw[:10] for line in g.lines] for g in group_records(lines_of("qemu", QEMU))]
    assert [len(g) for g in groups] == [1, 4, 2, 2]


def test_level_filter_keeps_a_traceback_with_its_error() -> None:
    """--level error keeps the error line and its traceback, nothing else."""
    kept = [x.raw for x in filter_records(lines_of("qemu", QEMU), LogFilter(level="error"))]
    assert kept == QEMU.splitlines()[1:5]
    kept = [x.raw for x in filter_records(lines_of("qemu", QEMU), LogFilter(level="warning"))]
    assert kept == QEMU.splitlines()[1:7]


def test_grep_matches_any_line_of_a_record_and_keeps_it_whole() -> None:
    """--grep on a traceback's last line keeps the whole record; on a head, its details."""
    grep = LogFilter(grep=re.compile("ZeroDivision"))
    assert [x.raw for x in filter_records(lines_of("qemu", QEMU), grep)] == QEMU.splitlines()[1:5]
    grep = LogFilter(grep=re.compile("vfio"))
    kept = [x.number for x in filter_records(lines_of("qemu", QEMU), grep)]
    assert kept == [2, 3, 4, 5, 8, 9]


def test_vm_filter_keeps_continuations_of_json_records() -> None:
    """A JSON log with a traceback printed into it: --vm keeps the traceback with its record."""
    text = "\n".join(
        [
            '{"timestamp": "2025-11-29T08:00:01Z", "level": "error", "event": "x", "vm": "win11"}',
            "Traceback (most recent call last):",
            '  File "x.py", line 1',
            '{"timestamp": "2025-11-29T08:00:02Z", "level": "error", "event": "y", "vm": "other"}',
            "Traceback (most recent call last):",
        ]
    )
    kept = [x.number for x in filter_records(lines_of("workbench", text), LogFilter(vm="win11"))]
    assert kept == [1, 2, 3]


def test_a_file_without_times_is_one_record_per_line() -> None:
    """In a log of an unknown layout no line has a time: each line is judged on its own."""
    text = "alpha\nbeta: error: x\ngamma\n"
    groups = list(group_records(lines_of("plain", text)))
    assert [len(g.lines) for g in groups] == [1, 1, 1]
    kept = [x.raw for x in filter_records(lines_of("plain", text), LogFilter(level="error"))]
    assert kept == ["beta: error: x"]


def test_continuations_follow_their_record_through_a_merge() -> None:
    """Merged with a journal, a QEMU traceback stays with its error line and is filtered
    with it, whatever the other source's lines."""
    journal = [
        LogLine(
            "journal",
            1,
            '{"__REALTIME_TIMESTAMP": "1764403202000000", "PRIORITY": "3", "MESSAGE": "j"}',
            utc(2025, 11, 29, 8, 0, 2),
        ),
        LogLine(
            "journal",
            2,
            '{"__REALTIME_TIMESTAMP": "1764403204000000", "PRIORITY": "6", "MESSAGE": "k"}',
            utc(2025, 11, 29, 8, 0, 4),
        ),
    ]
    merged = list(merge_by_time([lines_of("qemu", QEMU), journal]))
    kept = [(x.source, x.number) for x in filter_records(merged, LogFilter(level="error"))]
    assert kept == [("journal", 1), ("qemu", 2), ("qemu", 3), ("qemu", 4), ("qemu", 5)]


def test_a_very_long_run_of_continuations_is_bounded() -> None:
    """More than MAX_LINES continuation lines come in pieces, all kept with their record."""
    text = "2025-11-29T08:00:03Z qemu: error: x\n" + "  more\n" * (MAX_LINES * 2 + 5)
    groups = list(group_records(lines_of("qemu", text)))
    assert max(len(g.lines) for g in groups) == MAX_LINES
    assert all(g.continued for g in groups[1:])
    kept = list(filter_records(lines_of("qemu", text), LogFilter(level="error")))
    assert len(kept) == MAX_LINES * 2 + 6
    assert list(filter_records(lines_of("qemu", text), LogFilter(level="critical"))) == []


def test_scan_of_a_text_log_keeps_tracebacks_with_their_record(tmp_path: Path) -> None:
    """`workbench logs --level error` on a QEMU log prints the error and its traceback."""
    path = tmp_path / "win11.log"
    path.write_text(QEMU)
    proc = run_cli("logs", "--json", "--level", "error", str(path))
    assert proc.returncode == 0, proc.stderr
    assert _raws(proc.stdout) == QEMU.splitlines()[1:5]
    proc = run_cli("logs", "--json", "--since", "2025-11-29T08:00:04Z", str(path))
    assert _raws(proc.stdout) == QEMU.splitlines()[5:]


def _raws(out: str) -> list[str]:
    """The original lines of `logs --json` records (a text log's lines are records too)."""
    return [json.loads(line)["raw"] for line in out.splitlines()]


def test_text_scan_split_anywhere_gives_one_scan_lines(tmp_path: Path) -> None:
    """Split at any line boundary (as two processes scan a large file), the halves together
    give exactly the lines of one scan: each record belongs to the half its head is in."""
    path = tmp_path / "win11.log"
    path.write_text(QEMU * 3)
    data = path.read_bytes()
    bounds = [0] + [i + 1 for i, byte in enumerate(data) if byte == ord("\n")]
    fd = os.open(path, os.O_RDONLY)
    try:
        for flt in (LogFilter(level="error"), LogFilter(grep=re.compile("vfio|detail"))):
            whole = list(scan(fd, flt))
            assert whole
            for mid in bounds:
                assert list(scan(fd, flt, 0, mid)) + list(scan(fd, flt, mid)) == whole
    finally:
        os.close(fd)


def test_text_detection_by_samples(tmp_path: Path) -> None:
    """A QEMU log is text; a JSON-lines log with a traceback in it is JSON lines."""
    qemu = tmp_path / "qemu.log"
    qemu.write_text(QEMU)
    ours = tmp_path / "wb.log"
    ours.write_text('{"event": "a"}\n{"event": "b"}\nTraceback (most recent call last):\n')
    for path, text in ((qemu, True), (ours, False)):
        fd = os.open(path, os.O_RDONLY)
        try:
            assert file_is_text(fd) is text
        finally:
            os.close(fd)


PREFIXES = st.sampled_from(
    ["", "[", "[ 1.", "<3>", "<9>", "3,1,", "2025-11-29", "2025-11-29T08:00:0", "Nov 29 ", "{"]
)


@settings(max_examples=200, deadline=None)
@given(PREFIXES, st.text(max_size=80), st.one_of(st.none(), st.floats(allow_nan=True)))
def test_hostile_lines_never_raise(prefix: str, rest: str, boot: float | None) -> None:
    """Any text after any layout's start: a time or None, a record, a safe rendering."""
    raw = prefix + rest
    when = line_time(raw, boot_time=boot, year=2025)
    assert when is None or math.isfinite(when)
    shown = render(text_record(1, raw, boot_time=boot, year=2025))
    assert "\x1b" not in shown


NASTY = [
    "2025-11-29T08:00:01.000000Z qemu-system-x86_64: error: vfio failed",
    "ValueError: error: in a traceback, not a record's level",
    "",
    "  WARNING: an indented continuation",
    '{"timestamp": "2025-11-29T08:00:02Z", "level": "error", "event": "json in text"}',
    "<3>[   12.5] vfio-pci: BAR 0",
    "<14>[   13.5] facility and priority",
    "6,1234,12345678,-;pci 0000:01:00.0: info",
    " SUBSYSTEM=pci",
    "3,1235,12345679,-;pci: failed",
    "Nov 29 08:00:01 hv1 kernel: ERROR: shouting",
    "Nov 29 08:00:02 hv1 kernel: the error counter is 0",
    "[   14.0] pci: Fatal : spaced",
    "[Sat Nov 29 08:00:01 2025] dmesg -T critical: x",
    "2025-11-29 08:00:01.000+0000: 1234: warning : libvirt",
    "2025-11-29 08:00:01.000+0000: 1234: info : libvirt error: late in the line " + "x" * 200,
    "no time at all: error: but after a record",
]


@pytest.mark.parametrize("level", ["debug", "info", "warning", "error", "critical"])
def test_text_level_fast_path_equals_reading_every_line(tmp_path: Path, level: str) -> None:
    """The level regex path over a text log gives exactly what parsing every line gives,
    scanned whole or split at any line boundary."""
    path = tmp_path / "mixed.log"
    path.write_text("\n".join(NASTY * 3) + "\n" + "  more\n" * (MAX_LINES + 3) + NASTY[0])
    flt = LogFilter(level=level)
    lines = [
        LogLine("file", n, raw)
        for n, raw in enumerate((x for x in path.read_text().split("\n") if x), 1)
    ]
    expected = [x.raw.encode() for x in filter_records(lines, flt, record_of=_record_2025)]
    data = path.read_bytes()
    bounds = [0] + [i + 1 for i, byte in enumerate(data) if byte == ord("\n")]
    fd = os.open(path, os.O_RDONLY)
    try:
        os.utime(path, (local(2025, 6, 1, 0, 0, 0),) * 2)
        assert list(scan(fd, flt)) == expected
        for mid in bounds[:: max(1, len(bounds) // 60)] + bounds[-5:]:
            assert list(scan(fd, flt, 0, mid)) + list(scan(fd, flt, mid)) == expected
    finally:
        os.close(fd)


def _record_2025(line: LogLine) -> LogRecord:
    return any_record(line.number, line.raw, year=2025)


def test_record_filter_streams_for_a_follower() -> None:
    """Followed: an error line shows when it comes, its traceback line by line; with --grep
    a record shows when it ends or when the follower flushes."""
    qemu = lines_of("qemu", QEMU)
    records = RecordFilter(LogFilter(level="error"))
    assert records.feed(qemu[0]) == []
    assert records.feed(qemu[1]) == [qemu[1]]
    assert records.feed(qemu[2]) == [qemu[2]]
    assert records.feed(qemu[5]) == []
    grep = RecordFilter(LogFilter(grep=re.compile("ZeroDivision")))
    assert [grep.feed(x) for x in qemu[1:4]] == [[], [], []]
    assert grep.flush() == []  # not yet seen: the traceback's last line is still to come
    assert grep.feed(qemu[4]) == []
    later = RecordFilter(LogFilter(grep=re.compile("ZeroDivision")))
    for x in qemu[1:5]:
        later.feed(x)
    assert later.flush() == qemu[1:5]
    assert later.flush() == []


def test_render_line_reads_text_sources_by_layout() -> None:
    """A text source's lines render as time, level, message; a JSON source's garbage as ??."""
    error = QEMU.splitlines()[1].encode()
    assert render_line(error, text=True).startswith(
        "2025-11-29T08:00:03.000000Z ERROR    qemu-system-x86_64: error: vfio"
    )
    assert (
        render_line(b'  File "x.py", line 3\x1b[2J', text=True) == '  File "x.py", line 3\\x1b[2J'
    )
    assert render_line(b"not json").startswith("?? not json")
    dmesg = render_line(b"<4>[   12.5] pci: x", text=True, boot_time=BOOT)
    assert dmesg.startswith("2025-11-29T07:56:52.500000Z WARNING  pci: x")


@pytest.mark.parametrize(
    ("raw", "end"),
    [
        ("2025-11-29T08:00:03Z qemu", 20),
        ("2025-13-29T08:00:03Z off the calendar, still a record's start", 20),
        ("[   12.5] pci", 9),
        ("<3>[   12.5] pci", 12),
        ("6,1,123,-;pci", 10),
        ("Nov 29 08:00:01 hv1 x", 15),
        ("[Sat Nov 29 08:00:01 2025] x", 26),
        ('  File "x.py"', 0),
        ('{"event": "x"}', 0),
        ("", 0),
    ],
)
def test_prefix_end_tells_first_lines_from_continuations(raw: str, end: int) -> None:
    """A time prefix's shape marks a record's first line, calendar or not."""
    assert prefix_end(raw) == end


def test_a_line_written_to_dev_kmsg_gets_the_time_it_was_written() -> None:
    """A real /dev/kmsg record, anchored to boot_time_now(), is timed within a second of
    when it was written, at the level its priority says."""
    try:
        reader = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        pytest.skip(f"/dev/kmsg: {exc.strerror}")
    marker = f"workbench-linetimes-{os.getpid()}"
    try:
        os.lseek(reader, 0, os.SEEK_END)
        try:
            writer = os.open("/dev/kmsg", os.O_WRONLY)
        except OSError as exc:
            pytest.skip(f"/dev/kmsg: {exc.strerror}")
        written = datetime.now(UTC).timestamp()
        os.write(writer, f"<4>{marker}\n".encode())
        os.close(writer)
        records = []
        while True:
            try:
                records.append(os.read(reader, 8192).decode("utf-8", "replace"))
            except BlockingIOError:
                break
    finally:
        os.close(reader)
    ours = [r.rstrip("\n") for r in records if marker in r]
    assert len(ours) == 1
    when = line_time(ours[0], boot_time=boot_time_now())
    assert when is not None and abs(when - written) < 1.0
    assert text_record(1, ours[0], boot_time=boot_time_now()).level == "warning"


def test_boot_time_from_proc_stat() -> None:
    """/proc/stat's btime is the boot time, close to the live anchor; garbage is None."""
    stat = Path("/proc/stat").read_text()
    recorded = boot_time_from_stat(stat)
    assert recorded is not None and abs(recorded - boot_time_now()) < 120
    assert boot_time_from_stat("cpu 1 2 3\nbtime ²\n") is None
    assert boot_time_from_stat("") is None


def test_syslog_file_times_take_the_file_year(tmp_path: Path) -> None:
    """`logs --since/--until` on a kern.log: its year-less times are in its mtime's year."""
    path = tmp_path / "kern.log"
    path.write_text(
        "Nov 29 08:00:01 hv1 kernel: vfio-pci 0000:01:00.0: enabling device\n"
        "Nov 29 08:00:05 hv1 kernel: vfio-pci 0000:01:00.0: BAR 0: can't reserve\n"
        " continuation of the BAR line\n"
    )
    os.utime(path, (local(2025, 12, 1, 0, 0, 0),) * 2)
    env = {"TZ": "UTC"}
    window = ("--since", "2025-11-29T08:00:02Z", "--until", "2025-11-30T00:00:00Z")
    proc = run_cli("logs", "--json", *window, str(path), env=env)
    assert proc.returncode == 0, proc.stderr
    assert _raws(proc.stdout) == path.read_text().splitlines()[1:]


WINDOWED = [
    *NASTY,
    "2025-11-29T08:00:01.999999Z qemu: just before a bound's second ends",
    "2025-11-29T08:00:02.000001+00:00 qemu: just after",
    "2025-11-29T09:00:02+0100 qemu: the same second in another zone",
    "2025-11-29 08:00:02.500+0000: libvirt: within the bound's second",
    "2025-02-30T08:00:02Z qemu: off the calendar",
    "  continuation of an off-calendar record",
    "2025-11-29T07:59:59-00:00 qemu: before",
]


@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("2025-11-29T08:00:02.25Z", None),
        (None, "2025-11-29T08:00:02.25Z"),
        ("2025-11-29T08:00:01Z", "2025-11-29T08:00:02Z"),
        ("2025-11-29T09:00:02+01:00", "2025-11-29T09:00:02.000001+01:00"),
        ("2024-01-01T00:00:00Z", None),
    ],
)
def test_text_window_shortcut_equals_reading_every_line(
    tmp_path: Path, since: str | None, until: str | None
) -> None:
    """--since/--until on a text log (its UTC ISO seconds compared as text first) gives
    exactly what parsing every record's first line gives."""
    path = tmp_path / "windowed.log"
    path.write_text("\n".join(WINDOWED * 2) + "\n")
    os.utime(path, (local(2025, 6, 1, 0, 0, 0),) * 2)
    flt = LogFilter(
        since=None if since is None else datetime.fromisoformat(since),
        until=None if until is None else datetime.fromisoformat(until),
    )
    lines = [LogLine("file", n, raw) for n, raw in enumerate(filter(None, WINDOWED * 2), 1)]
    expected = [x.raw.encode() for x in filter_records(lines, flt, record_of=_record_2025)]
    assert expected
    fd = os.open(path, os.O_RDONLY)
    try:
        assert list(scan(fd, flt)) == expected
    finally:
        os.close(fd)
