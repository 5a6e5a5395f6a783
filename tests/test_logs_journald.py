"""journald JSON (`journalctl -o json`) as a first-class log: PRIORITY levels (fast path
included), __REALTIME_TIMESTAMP times (shown as ISO, windowed by --since/--until),
SYSLOG_IDENTIFIER or _COMM as the logger, MESSAGE as text or as a list of byte values."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import SHARED, run_cli
from workbench.logs.filters import LogFilter, _plan, scan
from workbench.logs.records import RANK, parse_line
from workbench.logs.render import render

LNAV_JOURNALD = SHARED / "peer-data" / "lnav" / "logfile_journald.json"
START_US = 1_764_403_200_000_000  # 2025-11-29T08:00:00Z
LEVEL_OF = ["critical", "critical", "critical", "error", "warning", "notice", "info", "debug"]


def journal_record(i: int, priority: object) -> dict[str, object]:
    """One record as `journalctl -o json` writes it (strings everywhere, metadata fields)."""
    record: dict[str, object] = {
        "__CURSOR": f"s=abc;i={i:x};b=0dc8;m={i};t=5;x=9c",
        "__REALTIME_TIMESTAMP": str(START_US + i * 1_000_000),
        "__MONOTONIC_TIMESTAMP": str(38_708_007 + i),
        "_BOOT_ID": "0dc874d3fbd44bdbb6fbcfaa27481492",
        "PRIORITY": priority,
        "_HOSTNAME": "hv1",
        "SYSLOG_FACILITY": "3",
        "_PID": "1234",
        "_COMM": "libvirtd",
        "_SYSTEMD_UNIT": "libvirtd.service",
        "MESSAGE": f"message {i}",
    }
    if i % 3:
        record["SYSLOG_IDENTIFIER"] = "libvirtd"
    return record


def journal_file(path: Path, count: int = 800) -> Path:
    """A `journalctl -o json`-shaped file: every PRIORITY 0-7 in turn, one record a second."""
    lines = [json.dumps(journal_record(i, str(i % 8)), separators=(",", ":")) for i in range(count)]
    path.write_text("\n".join(lines) + "\n")
    return path


def scanned(path: Path, flt: LogFilter) -> list[bytes]:
    fd = os.open(path, os.O_RDONLY)
    try:
        return list(scan(fd, flt))
    finally:
        os.close(fd)


def parsed_all(path: Path, flt: LogFilter) -> list[bytes]:
    """The reference: every line parsed and judged."""
    lines = path.read_bytes().split(b"\n")
    return [line for line in lines if line and flt.matches(parse_line(0, line))]


def lnav_journald() -> Path:
    if not LNAV_JOURNALD.exists():
        pytest.skip("../shared/peer-data/lnav not present")
    return LNAV_JOURNALD


def test_lnav_journald_file_filters_by_level_on_the_command_line() -> None:
    """`logs --level warning` on lnav's journald file prints its PRIORITY 1 record, not its
    PRIORITY 6 one."""
    proc = run_cli("logs", "--level", "warning", str(lnav_journald()))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "2018-08-21T14:04:21.221373Z CRITICAL python: GPS Reference longitude: 7.358143333"
    ]
    assert "1534860261221373" not in proc.stdout


def test_lnav_journald_logger_and_hidden_metadata() -> None:
    """The logger is SYSLOG_IDENTIFIER; journald's own fields (_PID, __CURSOR) are not shown."""
    proc = run_cli("logs", str(lnav_journald()))
    first = proc.stdout.splitlines()[0]
    assert "python: GPS Reference longitude: 7.358143333" in first
    assert "__CURSOR" not in proc.stdout and "_PID" not in proc.stdout


def test_journalctl_file_level_warning_on_the_command_line(tmp_path: Path) -> None:
    """On a journalctl-shaped file, --level warning returns exactly PRIORITY 0-4, as ISO times."""
    path = journal_file(tmp_path / "journal.json", count=80)
    proc = run_cli("logs", "--level", "warning", str(path))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 50  # 5 of every 8
    assert {line.split()[1] for line in lines} == {"CRITICAL", "ERROR", "WARNING"}
    assert lines[0].startswith("2025-11-29T08:00:00.000000Z CRITICAL libvirtd: message 0")
    assert lines[4].startswith("2025-11-29T08:00:04.000000Z WARNING  libvirtd: message 4")
    assert str(START_US) not in proc.stdout


@pytest.mark.parametrize("level", list(RANK))
def test_priority_fast_path_finds_exactly_the_wanted_levels(tmp_path: Path, level: str) -> None:
    """The level fast path learns PRIORITY from the samples and finds what parsing finds."""
    path = journal_file(tmp_path / "journal.json")
    flt = LogFilter(level=level)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert _plan(fd, os.fstat(fd).st_size, level) is not None
    finally:
        os.close(fd)
    found = scanned(path, flt)
    assert found == parsed_all(path, flt)
    want = {n for n, name in enumerate(LEVEL_OF) if RANK[name] >= RANK[level]}
    assert {int(json.loads(line)["PRIORITY"]) for line in found} == want


def test_priority_fast_path_with_odd_values(tmp_path: Path) -> None:
    """Odd PRIORITY values (a JSON escape, spaces, two digits, a word, a number) are judged
    as parsing judges them, in a file whose samples are all plain."""
    path = journal_file(tmp_path / "journal.json")
    odd = [r'"\u0033"', '" 4"', '"44"', '"warning"', "3", '"61"', '"03"']
    extra = [
        json.dumps(journal_record(900 + i, 0), separators=(",", ":")).replace(
            '"PRIORITY":0', '"PRIORITY":' + value
        )
        for i, value in enumerate(odd)
    ]
    with path.open("a") as out:
        out.write("\n".join(extra) + "\n")
    for level in ("error", "warning", "info"):
        flt = LogFilter(level=level)
        assert scanned(path, flt) == parsed_all(path, flt)
    found = [json.loads(x)["__REALTIME_TIMESTAMP"] for x in scanned(path, LogFilter(level="error"))]
    escaped = str(START_US + 900 * 1_000_000)
    assert escaped in found  # "\u0033" is "3": an error


def test_since_until_on_realtime_timestamp(tmp_path: Path) -> None:
    """--since/--until judge journald's microsecond times, on the command line too."""
    path = journal_file(tmp_path / "journal.json")
    start = datetime.fromtimestamp(START_US / 1e6, UTC)
    since = start + timedelta(seconds=100, microseconds=1)
    until = start + timedelta(seconds=110)
    flt = LogFilter(since=since, until=until)
    found = scanned(path, flt)
    assert found == parsed_all(path, flt)
    assert [json.loads(x)["MESSAGE"] for x in found] == [f"message {i}" for i in range(101, 111)]
    proc = run_cli(
        "logs",
        "--json",
        "--since",
        "2025-11-29T08:13:00Z",
        "--until",
        "2025-11-29T08:13:02Z",
        str(path),
    )
    assert [json.loads(x)["MESSAGE"] for x in proc.stdout.splitlines()] == [
        "message 780",
        "message 781",
        "message 782",
    ]


def test_message_as_byte_values_is_decoded() -> None:
    """A MESSAGE journald stored as bytes (not UTF-8) is text, bad bytes replaced, escaped."""
    raw = {
        "__REALTIME_TIMESTAMP": str(START_US),
        "PRIORITY": "4",
        "_COMM": "qemu-kvm",
        "MESSAGE": [*b"caf\xc3\xa9 \xff ", 27, *b"[31mred"],
    }
    record = parse_line(0, json.dumps(raw).encode())
    assert record.message == "café \ufffd \x1b[31mred"
    assert record.logger == "qemu-kvm"
    shown = render(record)
    assert shown.startswith("2025-11-29T08:00:00.000000Z WARNING  qemu-kvm: café")
    assert "\x1b" not in shown


def test_message_list_that_is_not_bytes_is_shown_as_json() -> None:
    """A MESSAGE list of non-byte values is shown as JSON, not decoded or dropped."""
    raw = {"__REALTIME_TIMESTAMP": str(START_US), "PRIORITY": "6", "MESSAGE": [1, 999, "x"]}
    assert parse_line(0, json.dumps(raw).encode()).message == '[1,999,"x"]'
