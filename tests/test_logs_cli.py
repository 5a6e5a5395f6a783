"""`workbench logs` as a user runs it: filters, pretty and JSON output, --follow, bad input."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SHARED, WORKBENCH, run_cli

LNAV = SHARED / "peer-data" / "lnav"


def sample(path: Path) -> Path:
    records = [
        {
            "timestamp": "2026-11-01T10:00:00Z",
            "level": "info",
            "event": "probe.finished",
            "logger": "workbench.core.runner",
            "probe": "pci.gpus",
        },
        {
            "timestamp": "2026-11-01T10:00:01Z",
            "level": "error",
            "event": "agent timeout",
            "logger": "workbench.virt.agent",
            "vm": "win11",
            "error": {"error": "GUEST_AGENT_TIMEOUT"},
        },
        {
            "timestamp": "2026-11-01T10:00:02Z",
            "level": "warning",
            "event": "retrying",
            "vm": "gaming",
            "attempt": 2,
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + "not json at all\n")
    return path


def test_json_output_is_the_original_lines(tmp_path: Path) -> None:
    """--json prints matching lines byte for byte, so it works in pipes."""
    path = sample(tmp_path / "wb.log")
    proc = run_cli("logs", str(path), "--level", "warning", "--json")
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == path.read_text().splitlines()[1:3]


def test_pretty_output_and_malformed_lines(tmp_path: Path) -> None:
    """Without --json: time, level, logger, event and the other fields; garbage shown raw."""
    proc = run_cli("logs", str(sample(tmp_path / "wb.log")))
    lines = proc.stdout.splitlines()
    assert lines[1].startswith("2026-11-01T10:00:01Z ERROR    workbench.virt.agent: agent timeout")
    assert "vm=win11" in lines[1] and '"GUEST_AGENT_TIMEOUT"' in lines[1]
    assert lines[3] == "?? not json at all"
    assert "\x1b[" not in proc.stdout


def test_filters_on_the_command_line(tmp_path: Path) -> None:
    """--vm, --probe, --grep and --since select records."""
    path = str(sample(tmp_path / "wb.log"))

    def events(*args: str) -> list[str]:
        out = run_cli("logs", path, "--json", *args).stdout.splitlines()
        return [json.loads(x)["event"] for x in out]

    assert events("--vm", "win11") == ["agent timeout"]
    assert events("--probe", "pci.gpus") == ["probe.finished"]
    assert events("--grep", "retry") == ["retrying"]
    assert events("--since", "2026-11-01T10:00:01Z", "--level", "warning") == [
        "agent timeout",
        "retrying",
    ]


def test_lnav_nested_file_by_level() -> None:
    """lnav's nested @fields file, filtered to errors and above, upper-case levels and all."""
    path = LNAV / "logfile_nested_json.json"
    if not path.exists():
        pytest.skip("../shared/peer-data/lnav not present")
    proc = run_cli("logs", str(path), "--level", "error", "--json")
    levels = [json.loads(x)["@fields"]["lvl"] for x in proc.stdout.splitlines()]
    assert levels and all(lv in ("ERROR", "FATAL", "CRITICAL") for lv in levels)


def test_missing_file_and_bad_options(tmp_path: Path) -> None:
    """A missing file, a directory, a bad level, a bad regex, a bad time: exit 2, one line."""
    cases = [
        (["logs", str(tmp_path / "nope.log")], "no such file"),
        (["logs", str(tmp_path)], "not a regular file"),
        (["logs", str(sample(tmp_path / "a.log")), "--level", "loud"], "unknown level"),
        (["logs", str(tmp_path / "a.log"), "--grep", "("], "bad regular expression"),
        (["logs", str(tmp_path / "a.log"), "--since", "tuesday"], "--since"),
    ]
    for args, message in cases:
        proc = run_cli(*args)
        assert proc.returncode == 2, args
        assert message in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
        assert "Traceback" not in proc.stderr


def test_binary_file_prints_raw_lines(tmp_path: Path) -> None:
    """A binary file (not JSON lines: read as text): every line shown raw, control bytes
    escaped, exit 0."""
    path = tmp_path / "core"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\n\x1b[2J\xff\xfe\n")
    proc = run_cli("logs", str(path))
    assert proc.returncode == 0
    assert "\\x1b[2J" in proc.stdout.splitlines()[1]
    assert "\x1b" not in proc.stdout


def test_follow_prints_new_records_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    """--follow: existing matches, then appended ones (filters applied), through a rotation;
    SIGTERM ends it with exit 0."""
    path = tmp_path / "wb.log"
    path.write_text(json.dumps({"level": "error", "event": "old"}) + "\n")
    proc = subprocess.Popen(
        [str(WORKBENCH), "logs", str(path), "--follow", "--json", "--level", "error"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["event"] == "old"
        with path.open("a") as fh:
            fh.write(json.dumps({"level": "info", "event": "quiet"}) + "\n")
            fh.write(json.dumps({"level": "error", "event": "new"}) + "\n")
        assert json.loads(proc.stdout.readline())["event"] == "new"
        path.rename(tmp_path / "wb.log.1")
        path.write_text(json.dumps({"level": "critical", "event": "after rotation"}) + "\n")
        assert json.loads(proc.stdout.readline())["event"] == "after rotation"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err


def test_large_file_split_across_two_processes_keeps_order(tmp_path: Path) -> None:
    """A 40 MB file is scanned by two processes; the output is every match, once, in order."""
    path = tmp_path / "big.jsonl"
    levels = ["info", "info", "error", "debug", "critical", "warning"]
    with path.open("w") as fh:
        for n in range(180_000):
            fh.write(json.dumps({"level": levels[n % 6], "event": "x" * 180, "n": n}) + "\n")
    assert path.stat().st_size > 32 << 20
    proc = run_cli("logs", str(path), "--level", "error", "--json")
    got = [json.loads(line)["n"] for line in proc.stdout.splitlines()]
    assert got == [n for n in range(180_000) if n % 6 in (2, 4)]
