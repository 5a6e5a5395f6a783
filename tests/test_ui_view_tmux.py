"""`workbench view` in a real terminal (tmux) and from a shell, as a user runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import WORKBENCH, run_cli
from tests.test_ui_tmux import keys, start_session, wait_for
from tests.view_helpers import write_logs


def test_view_interleaves_a_journal_and_a_qemu_log(tmp_path: Path) -> None:
    """`workbench view JOURNAL.json QEMU.log` shows their lines interleaved by time; a line
    appended to the QEMU log appears; q quits with 0."""
    journal, qemu = write_logs(tmp_path)
    name = start_session(f"{WORKBENCH} view {journal} {qemu}", {"XDG_STATE_HOME": str(tmp_path)})
    try:
        shown = wait_for(name, "group 8 is not viable")
        lines = [ln for ln in shown.splitlines() if "journal.json " in ln or "qemu.log " in ln]
        order = [("journal" if "journal.json" in ln else "qemu") for ln in lines[:6]]
        assert order == ["journal", "qemu"] * 3, shown
        with qemu.open("a") as f:
            f.write("2025-11-29T09:00:00.000000Z qemu-system-x86_64: appended while viewed\n")
        wait_for(name, "appended while viewed")
        keys(name, "q")
        wait_for(name, "EXITED 0")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def test_view_of_a_missing_file_is_one_line_exit_2(tmp_path: Path) -> None:
    """A file that cannot be read: one line on stderr, exit 2, no traceback."""
    result = run_cli("view", str(tmp_path / "nope.log"))
    assert result.returncode == 2
    assert "nope.log: no such file" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
