"""`workbench logs` over several sources, as a user runs it: --json as pure JSON lines that
say their source, --follow putting lines of different sources in time order, and a text log's
continuation lines kept through --level."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from tests.conftest import WORKBENCH, run_cli
from tests.test_logs_cli_sources import _read_until, _records


def test_json_of_several_sources_is_json_lines(tmp_path: Path) -> None:
    """--json over a JSON log and a QEMU log: every line is a JSON object with its source; a
    record keeps its own keys as written, a text line gets time, level, message and raw."""
    a = tmp_path / "a.log"
    a.write_text('{"timestamp": "2025-11-29T08:00:00Z",  "level": "info", "event": "a1"}\n{}\n')
    qemu = tmp_path / "win11.log"
    qemu.write_text("2025-11-29T08:00:01.000000Z qemu-system-x86_64: warning: q1 \xff\n")
    proc = run_cli("logs", str(a), str(qemu), "--json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == (
        f'{{"source": "{a}", "timestamp": "2025-11-29T08:00:00Z",  "level": "info", "event": "a1"}}'
    )
    records = [json.loads(line) for line in lines]
    assert records[1] == {"source": str(a)}
    assert records[2] == {
        "source": str(qemu),
        "time": "2025-11-29T08:00:01.000000Z",
        "level": "warning",
        "message": "qemu-system-x86_64: warning: q1 \xff",
        "raw": "2025-11-29T08:00:01.000000Z qemu-system-x86_64: warning: q1 \xff",
    }
    assert [next(iter(r)) for r in records] == ["source"] * 3


def test_json_of_one_text_source_is_json_too(tmp_path: Path) -> None:
    """--json over one text source (a QEMU log) prints JSON records, never its raw text: jq
    reads every line."""
    qemu = tmp_path / "win11.log"
    qemu.write_bytes(b"2025-11-29T08:00:01.000000Z qemu-system-x86_64: q \xfe\n")
    proc = subprocess.run(
        [str(WORKBENCH), "logs", str(qemu), "--json"], capture_output=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["source"] == str(qemu) and record["time"] == "2025-11-29T08:00:01.000000Z"
    assert record["raw"] == "2025-11-29T08:00:01.000000Z qemu-system-x86_64: q \\xfe"


def test_json_of_one_json_lines_source_is_its_bytes(tmp_path: Path) -> None:
    """--json over one JSON-lines log prints its records as written (bytes kept, no key)."""
    log = tmp_path / "wb.log"
    log.write_bytes(b'{"timestamp": "2025-11-29T08:00:01Z", "event": "e", "x": "\xc3\xa9"}\n')
    proc = subprocess.run(
        [str(WORKBENCH), "logs", str(log), "--json", "-n", "5"], capture_output=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == log.read_bytes()


def test_follow_orders_lines_of_two_files_by_time(tmp_path: Path) -> None:
    """--follow over two files: a later line appended to one, then an earlier line appended to
    the other within the window, come out in time order."""
    a = _records(tmp_path / "a.log", [("2026-11-01T10:00:00Z", "info", "old-a")])
    b = _records(tmp_path / "b.log", [("2026-11-01T10:00:00Z", "info", "old-b")])
    argv = [str(WORKBENCH), "logs", str(a), str(b), "--follow", "-n", "1", "--json"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE) as proc:
        try:
            seen = _read_until(proc, b"old-b", 30)
            seen += _read_until(proc, b"old-a", 5)
            assert b"old-a" in seen and b"old-b" in seen
            _records(b.with_suffix(".new"), [("2026-11-01T10:00:09Z", "info", "late-b")])
            _records(a.with_suffix(".new"), [("2026-11-01T10:00:05Z", "info", "early-a")])
            with b.open("a") as out:
                out.write(b.with_suffix(".new").read_text())
            with a.open("a") as out:
                out.write(a.with_suffix(".new").read_text())
            got = _read_until(proc, b"late-b", 1.0)  # within a second, the hold included
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
    events = [json.loads(line)["event"] for line in got.splitlines()]
    assert events == ["early-a", "late-b"]


def test_text_log_continuation_kept_through_level(tmp_path: Path) -> None:
    """A QEMU log (alone, and with another source) with an indented continuation under an
    error: --level error keeps both lines, and drops the info line."""
    qemu = tmp_path / "win11.log"
    qemu.write_text(
        "2025-11-29T08:00:01.000000Z qemu-system-x86_64: starting\n"
        "2025-11-29T08:00:02.000000Z qemu-system-x86_64: error: vfio 0000:01:00.0: failed\n"
        "    group 12 is not viable\n"
        "2025-11-29T08:00:03.000000Z qemu-system-x86_64: shutting down\n"
    )
    other = _records(tmp_path / "a.log", [("2025-11-29T08:00:00Z", "info", "a1")])
    for sources in ([qemu], [qemu, other]):
        proc = run_cli("logs", *map(str, sources), "--level", "error", "--color", "never")
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert len(lines) == 2, lines
        assert "failed" in lines[0] and "group 12 is not viable" in lines[1]
