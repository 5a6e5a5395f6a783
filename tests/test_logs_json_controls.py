"""`logs --json`: control characters JSON leaves raw are escaped; a source named twice is read
once."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import WORKBENCH, run_cli


def test_c1_and_del_are_escaped_in_json_records(tmp_path: Path) -> None:
    """U+009B (a CSI to a terminal) and DEL in a text line come out as \\u escapes: the same
    string to jq, inert bytes to a terminal."""
    import subprocess

    log = tmp_path / "q.log"
    log.write_bytes("x \u009b31m y \x7f z\n".encode())
    proc = subprocess.run([str(WORKBENCH), "logs", str(log), "--json"], capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert b"\xc2\x9b" not in proc.stdout and b"\x7f" not in proc.stdout
    assert b"\\u009b" in proc.stdout
    assert json.loads(proc.stdout)["raw"] == "x \u009b31m y \x7f z"


def test_a_source_named_twice_is_read_once(tmp_path: Path) -> None:
    """`logs F F` (or `--qemu X --qemu X`) prints each line once."""
    log = tmp_path / "q.log"
    log.write_text("2025-11-29T08:00:01.000000Z qemu: a\n2025-11-29T08:00:02.000000Z qemu: b\n")
    proc = run_cli("logs", str(log), str(log), "--json")
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["message"] for line in proc.stdout.splitlines()] == [
        "qemu: a",
        "qemu: b",
    ]
