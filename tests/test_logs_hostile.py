"""Issue 11 for the log engine: hostile or odd log files give right answers, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import WORKBENCH, run_cli
from workbench.logs.filters import LogFilter, parse_time, scan
from workbench.logs.records import normalise_level, parse_line


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def rec(event: str, level: str = "info", ts: object = "2026-11-01T10:00:00Z") -> str:
    return json.dumps({"timestamp": ts, "level": level, "event": event})


def scanned(path: Path, flt: LogFilter) -> list[str]:
    fd = os.open(path, os.O_RDONLY)
    try:
        return [json.loads(line)["event"] for line in scan(fd, flt)]
    finally:
        os.close(fd)


ODD_LEVELS = [" error", "error ", "\\terror", "eRRoR", "ERRor", "\\u0065rror", " CRIT ", "Fatal"]


@pytest.mark.parametrize("odd", ODD_LEVELS)
def test_odd_level_spellings_match_on_the_fast_path(tmp_path: Path, odd: str) -> None:
    """A uniform file (fast path): levels with surrounding whitespace, odd case or JSON escapes
    are found by --level like any other spelling."""
    lines = [rec(f"i{n}") for n in range(30_000)]  # 2 MB: line 2000 lies outside the samples
    lines[2000] = rec("odd", "PLACEHOLDER").replace("PLACEHOLDER", odd)
    path = write_lines(tmp_path / "fast.jsonl", lines)
    assert scanned(path, LogFilter(level="error")) == ["odd"]


@pytest.mark.parametrize("odd", ODD_LEVELS)
def test_odd_level_spellings_match_on_the_slow_path(tmp_path: Path, odd: str) -> None:
    """A mixed-key file (slow path) finds the same odd spellings."""
    lines = [
        rec(f"i{n}") if n % 2 else json.dumps({"lvl": "info", "event": "x"}) for n in range(300)
    ]
    lines[151] = rec("odd", "PLACEHOLDER").replace("PLACEHOLDER", odd)
    path = write_lines(tmp_path / "slow.jsonl", lines)
    assert scanned(path, LogFilter(level="error")) == ["odd"]


def test_since_filters_each_line_by_its_own_time(tmp_path: Path) -> None:
    """A clock stepped back mid-file: every line at or after --since is kept, wherever it is."""
    lines = [rec(f"new{n}", ts=f"2026-11-01T12:{n % 60:02d}:00Z") for n in range(3000)]
    lines += [rec(f"old{n}", ts=f"2026-11-01T08:{n % 60:02d}:00Z") for n in range(3000)]
    lines += [rec(f"late{n}", ts=f"2026-11-01T13:{n % 60:02d}:00Z") for n in range(3000)]
    path = write_lines(tmp_path / "stepped.jsonl", lines)
    got = scanned(path, LogFilter(since=parse_time("2026-11-01T11:00:00Z")))
    assert got == [f"new{n}" for n in range(3000)] + [f"late{n}" for n in range(3000)]


@pytest.mark.parametrize(
    "value",
    ["²", "¹²³", "٣٤٥", "1534860261²", "-99999999999999999999", "9" * 5000, "nan", "inf"],
)
def test_parse_time_rejects_non_ascii_digits_and_absurd_numbers(value: str) -> None:
    """Unicode digits, superscripts and absurd numbers are no time (None), never an exception."""
    assert parse_time(value) is None


@pytest.mark.parametrize("value", [-1e300, 1e300, float("nan"), float("inf"), -(10**30)])
def test_parse_time_absurd_numbers_are_none(value: float) -> None:
    """Numbers far outside any clock are no time, not an OverflowError."""
    assert parse_time(value) is None


def test_parse_time_relative_far_back_is_clamped() -> None:
    """`999999999d` means "since the beginning of time", not an OverflowError."""
    now = datetime(2026, 11, 22, tzinfo=UTC)
    assert parse_time("999999999d", now) == datetime.min.replace(tzinfo=UTC)
    assert parse_time("99999999999999999999999s", now) == datetime.min.replace(tzinfo=UTC)
    assert parse_time("٣d", now) is None


def test_priority_takes_ascii_digits_only() -> None:
    """A syslog PRIORITY in Arabic-Indic digits is no level."""
    assert normalise_level("٣", "PRIORITY") is None
    assert normalise_level(" 3 ", "PRIORITY") == "error"


def test_cli_unicode_digit_timestamps_are_no_traceback(tmp_path: Path) -> None:
    """`logs --since` over a file whose timestamps are `²`: exit 0, those lines skipped."""
    path = write_lines(tmp_path / "sup.log", [rec("sup", ts="²"), rec("ok"), rec("num", ts=1e300)])
    proc = run_cli("logs", str(path), "--since", "2026-01-01T00:00:00Z", "--json")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert [json.loads(x)["event"] for x in proc.stdout.splitlines()] == ["ok"]


@pytest.mark.parametrize("value", ["999999999d", "9999999999999999999999999h"])
def test_cli_since_far_back_shows_everything(tmp_path: Path, value: str) -> None:
    """`--since 999999999d` is clamped to the earliest time: every timed line, exit 0."""
    path = write_lines(tmp_path / "a.log", [rec("a"), rec("b")])
    proc = run_cli("logs", str(path), "--since", value, "--json")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert len(proc.stdout.splitlines()) == 2


HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202e"


def hostile_record() -> dict[str, object]:
    return {
        "timestamp": f"2026-11-01T10:00:00Z{HOSTILE}",
        "level": f"error{HOSTILE}",
        "event": f"ev{HOSTILE}",
        "logger": f"lg{HOSTILE}",
        f"key{HOSTILE}": f"value{HOSTILE}",
    }


def test_pretty_output_escapes_control_in_every_field(tmp_path: Path) -> None:
    """Escape sequences, C1 controls and bidi overrides in the time, level, logger, event, keys
    and values reach the terminal escaped, never raw."""
    path = write_lines(tmp_path / "evil.log", [json.dumps(hostile_record())])
    proc = run_cli("logs", str(path), "--color", "always")
    assert proc.returncode == 0
    shown = proc.stdout.replace("\x1b[31m", "").replace("\x1b[0m", "")  # our own colour only
    assert not any(ch in shown for ch in "\x1b\x07\x9b\u202e")
    assert shown.count("\\x1b]0;pwned") == 5  # time, logger, event, key, value
    assert "ERROR\\x1b" in shown  # the level, cut to 8 characters


def run_on_pty(*args: str) -> bytes:
    """What `workbench ARGS` writes to a terminal (a pseudo-terminal as its stdout)."""
    import pty
    import subprocess

    from tests.conftest import WORKBENCH

    leader, follower = pty.openpty()
    proc = subprocess.Popen([str(WORKBENCH), *args], stdout=follower, stderr=subprocess.DEVNULL)
    os.close(follower)
    out = b""
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        out += data
    os.close(leader)
    assert proc.wait(30) == 0
    return out


def test_json_output_is_original_bytes_in_a_pipe_and_escaped_on_a_terminal(tmp_path: Path) -> None:
    """--json is for pipes: byte for byte there; on a terminal its control characters (a C1
    CSI in a JSON string, ESC in a garbage line) are escaped like the pretty output's."""
    raw = json.dumps({"level": "error", "event": "c1\u009b2J"}, ensure_ascii=False).encode()
    garbage = b"garbage \x1b[2J"
    path = tmp_path / "c1.log"
    path.write_bytes(raw + b"\n" + garbage + b"\n")
    piped = run_cli("logs", str(path), "--json")
    assert piped.stdout.encode() == raw + b"\n" + garbage + b"\n"
    on_tty = run_on_pty("logs", str(path), "--json")
    assert b"\x1b" not in on_tty and b"\xc2\x9b" not in on_tty
    assert b"\\x9b2J" in on_tty and b"garbage \\x1b[2J" in on_tty


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "ascii"}, {"LC_ALL": "C", "PYTHONUTF8": "0"}])
def test_non_utf8_stdout_gets_ascii(tmp_path: Path, env: dict[str, str]) -> None:
    """On an ASCII stdout the output is ASCII: non-ASCII text escaped, `...` for a cut line."""
    path = tmp_path / "u.log"
    long_event = "café " + "x" * 3000
    path.write_text(json.dumps({"level": "info", "event": long_event}, ensure_ascii=False) + "\n")
    path.write_text(path.read_text() + "caf\u00e9 \u2026 not json\n")
    import subprocess

    from tests.conftest import WORKBENCH

    proc = subprocess.run(
        [str(WORKBENCH), "logs", str(path)],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "", **env},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    proc.stdout.decode("ascii")  # raises if anything is not ASCII
    lines = proc.stdout.splitlines()
    assert b"caf\\xe9 xxx" in lines[0] and lines[0].endswith(b"...")
    assert lines[1] == b"?? caf\\xe9 \\u2026 not json"


@pytest.mark.parametrize("kind", ["fifo", "socket", "/dev/zero", "directory"])
@pytest.mark.parametrize("follow", [False, True])
def test_logs_refuses_non_regular_files(tmp_path: Path, kind: str, follow: bool) -> None:
    """`workbench logs` on a FIFO, a socket, a device or a directory: a one-line error, exit 2,
    at once (never a hang waiting for a writer)."""
    import socket

    path = tmp_path / "log"
    keep = None
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        keep = socket.socket(socket.AF_UNIX)
        keep.bind(str(path))
    elif kind == "directory":
        path.mkdir()
    else:
        path = Path(kind)
    try:
        proc = run_cli("logs", str(path), *(["--follow"] if follow else []))
    finally:
        if keep is not None:
            keep.close()
    assert proc.returncode == 2
    assert proc.stderr == f"workbench: {path}: not a regular file\n"


def big_uniform_log(path: Path) -> Path:
    """70 MB: split across two processes, each busy for a while with a --vm filter."""
    pad = "x" * 180
    with path.open("w") as fh:
        for n in range(320_000):
            fh.write(f'{{"level": "info", "vm": "win11", "event": "{pad}", "n": {n}}}\n')
    return path


def group_members(pgid: int) -> list[Any]:
    """The live (not zombie) processes of a process group."""
    import psutil

    left = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(proc)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return left


def test_head_leaves_no_scan_child_behind(tmp_path: Path) -> None:
    """`workbench logs BIG | head -1`: once head and workbench have exited, the forked child
    that scanned the second half is gone too (nothing left in the pipeline's process group)."""
    path = big_uniform_log(tmp_path / "big.jsonl")
    shell = subprocess.Popen(
        ["sh", "-c", f"'{WORKBENCH}' logs '{path}' --vm win11 --json | head -1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # a pipe here would wait for the child to close it
        start_new_session=True,
    )
    out, _ = shell.communicate(timeout=120)
    assert json.loads(out)["n"] == 0
    left = group_members(shell.pid)
    for proc in left:  # do not leave them to the next test
        proc.kill()
    assert left == []


def test_scan_child_dies_with_a_killed_parent(tmp_path: Path) -> None:
    """workbench killed (SIGKILL) while its child scans: the child dies with it."""
    path = big_uniform_log(tmp_path / "big.jsonl")
    proc = subprocess.Popen(
        [str(WORKBENCH), "logs", str(path), "--vm", "win11", "--json"],
        stdout=subprocess.PIPE,  # never read: the parent blocks on a full pipe
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(group_members(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(group_members(proc.pid)) == 2  # the parent and its scan child
        proc.kill()
        proc.wait(10)
        deadline = time.monotonic() + 0.5  # the child's half takes seconds: it must not finish
        while group_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        left = group_members(proc.pid)
    finally:
        assert proc.stdout is not None
        proc.stdout.close()
    for child in left:
        child.kill()
    assert left == []


def write_absurd_line(path: Path, size: int) -> Path:
    """A small line, one line of `size` bytes, a small line."""
    with path.open("wb") as fh:
        fh.write(b'{"level": "error", "event": "small1"}\n{"event": "big", "blob": "')
        block = b"x" * (1 << 20)
        for _ in range(size >> 20):
            fh.write(block)
        fh.write(b'"}\n{"level": "error", "event": "small2"}\n')
    return path


@pytest.mark.parametrize("args", [[], ["--json"], ["--level", "error"], ["--grep", "small"]])
def test_a_200mb_line_costs_bounded_memory(tmp_path: Path, args: list[str]) -> None:
    """A 200 MB single line: peak RSS of `workbench logs` stays under 400 MB; the line is shown
    cut with a marker and its neighbours intact."""
    import sys

    path = write_absurd_line(tmp_path / "huge.log", 200 << 20)
    probe = (
        "import resource, subprocess, sys\n"
        "out = subprocess.run(sys.argv[1:], capture_output=True).stdout\n"
        "sys.stdout.buffer.write(out[:4096] + out[-300:])\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, str(WORKBENCH), "logs", str(path), *args],
        capture_output=True,
        timeout=120,
        check=True,
    )
    *shown, peak_kb = proc.stdout.splitlines()
    assert int(peak_kb) < 400 * 1024, f"peak RSS {int(peak_kb) // 1024} MB"
    text = b"\n".join(shown)
    assert b"small1" in text and b"small2" in text
    if not args or args[0] == "--json":
        assert f"cut: line of {(200 << 20) + 28} bytes".encode() in text


def test_follower_cuts_an_absurd_line(tmp_path: Path) -> None:
    """A follower meeting a 40 MB line hands back its head and a marker, then the next lines."""
    from workbench.logs.follow import Follower

    path = tmp_path / "f.log"
    path.write_text("")
    follower = Follower(path, from_start=True)
    assert follower.poll() == []
    data = write_absurd_line(tmp_path / "src.log", 40 << 20).read_bytes()
    with path.open("ab") as fh:
        fh.write(data)
    lines = follower.poll()
    assert len(lines) == 3
    assert lines[1].startswith(b'{"event": "big"') and lines[1].endswith(b"bytes]")
    assert len(lines[1]) < 4096
    assert json.loads(lines[2])["event"] == "small2"


def test_index_cuts_an_absurd_line(tmp_path: Path) -> None:
    """The line index keeps a 40 MB line's place but reads only its head."""
    from workbench.logs.index import LogIndex

    index = LogIndex(write_absurd_line(tmp_path / "i.log", 40 << 20))
    index.index_all()
    assert index.line_count == 3
    assert len(index.line(1)) < 4096 and index.line(1).endswith(b"bytes]")
    assert index.record(2).message == "small2"


TIME_SHAPES = [
    '{"timestamp": "2026-11-01T10:00:00Z", "event": "z"}',
    '{"timestamp": "2026-11-01T10:00:00.999999Z", "event": "frac"}',
    '{"timestamp": "2026-11-01T09:59:59.999Z", "event": "just-before"}',
    '{"timestamp": "2026-11-01T11:30:00+02:00", "event": "offset-before"}',
    '{"timestamp": "2026-11-01T08:30:00-02:00", "event": "offset-after"}',
    '{"timestamp": "2026-11-01 10:30:00", "event": "space"}',
    '{"time": 1793527200, "event": "epoch-after"}',
    '{"ts": "1793520000", "event": "epoch-string-before"}',
    '{"@fields": {"timestamp": "2026-11-01T10:45:00Z"}, "event": "nested"}',
    '{"time": "2026-11-01T08:00:00Z", "timestamp": "2026-11-01T10:30:00Z", "event": "two"}',
    '{"event": "no time"}',
    '{"timestamp": "²", "event": "superscript"}',
    'not json "timestamp": "2026-11-01T10:30:00Z"',
    '{"timestamp": "2026-11-01T10:30:00Z", "event": "quoted \\"timestamp\\": \\"2020\\""}',
    '{"timestamp" : "2026-11-01T12:00:00", "event": "naive-spaced"}',
]


@pytest.mark.parametrize(
    ("since", "until", "level"),
    [
        ("2026-11-01T10:00:00Z", None, None),
        ("2026-11-01T10:00:00.5Z", None, None),
        (None, "2026-11-01T10:00:00Z", None),
        ("2026-11-01T09:00:00Z", "2026-11-01T10:40:00Z", None),
        ("2026-11-01T10:00:00+01:00", None, None),
        ("2026-11-01T10:00:00Z", None, "info"),
    ],
)
def test_time_window_on_raw_bytes_agrees_with_the_parser(
    tmp_path: Path, since: str | None, until: str | None, level: str | None
) -> None:
    """The raw-bytes time window keeps exactly the lines the parser-based filter keeps, for
    every time shape (offsets, epochs, nesting, two keys, none, garbage)."""
    lines = [line.replace('"event"', '"level": "info", "event"') for line in TIME_SHAPES] * 50
    path = write_lines(tmp_path / "shapes.jsonl", lines)
    flt = LogFilter(since=parse_time(since), until=parse_time(until), level=level)
    expected = [line for line in lines if flt.matches(parse_line(0, line.encode()))]
    fd = os.open(path, os.O_RDONLY)
    try:
        got = [line.decode() for line in scan(fd, flt)]
    finally:
        os.close(fd)
    assert got == expected
    assert expected  # each window keeps something


def test_window_regex_compares_like_the_times() -> None:
    """The digit-by-digit regex says "at or after" (before) exactly when the time string is,
    for times around each digit of the bound."""
    import random
    import re

    from workbench.logs.window import _beyond

    rng = random.Random(11)
    bound = b"2026-11-01T10:10:00"
    times = [bound]
    for i in (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18):
        for delta in (-1, 1):
            digit = bound[i] - 48 + delta
            if 0 <= digit <= 9:
                times.append(bound[:i] + bytes([48 + digit]) + bound[i + 1 :])
    times += [
        f"{rng.randint(1, 9999):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}".encode()
        for _ in range(2000)
    ]
    later = re.compile(_beyond(bound, later=True))
    earlier = re.compile(_beyond(bound, later=False))
    for value in times:
        assert bool(later.fullmatch(value)) == (value >= bound), value
        assert bool(earlier.fullmatch(value)) == (value <= bound), value


@pytest.mark.parametrize("other_keys", [False, True])
@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("2026-11-01T10:00:00Z", None),
        ("2026-11-01T10:00:00.5Z", None),
        (None, "2026-11-01T10:00:00Z"),
        ("2026-11-01T09:00:00Z", "2026-11-01T10:40:00Z"),
    ],
)
def test_time_window_on_a_uniform_file_agrees_with_the_parser(
    tmp_path: Path, since: str | None, until: str | None, other_keys: bool
) -> None:
    """A large uniform file (the time key learned from samples) with odd time shapes outside
    the samples: the raw-bytes window keeps exactly what the parser keeps, also when some lines
    use another time key."""
    odd = [
        line for line in TIME_SHAPES if other_keys or ('"time"' not in line and '"ts"' not in line)
    ]
    lines = [rec(f"u{n}", ts=f"2026-11-01T{8 + n % 4:02d}:{n % 60:02d}:00Z") for n in range(30_000)]
    lines[2000:2000] = odd
    path = write_lines(tmp_path / "uniform.jsonl", lines)
    flt = LogFilter(since=parse_time(since), until=parse_time(until))
    expected = [line for line in lines if flt.matches(parse_line(0, line.encode()))]
    fd = os.open(path, os.O_RDONLY)
    try:
        got = [line.decode() for line in scan(fd, flt)]
    finally:
        os.close(fd)
    assert got == expected
