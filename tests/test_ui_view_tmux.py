"""`workbench view` in a real terminal (tmux) and from a shell, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

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


def test_view_reads_gz_and_xz_logs(tmp_path: Path) -> None:
    """A .gz journal and an .xz QEMU log are decoded (into a copy the view follows) and
    merged by time like plain files; the copies are gone when the view quits."""
    import gzip
    import lzma

    journal, qemu = write_logs(tmp_path)
    (tmp_path / "journal.json.gz").write_bytes(gzip.compress(journal.read_bytes()))
    (tmp_path / "qemu.log.xz").write_bytes(lzma.compress(qemu.read_bytes()))
    name = start_session(
        f"{WORKBENCH} view {tmp_path / 'journal.json.gz'} {tmp_path / 'qemu.log.xz'}",
        {"XDG_STATE_HOME": str(tmp_path), "TMPDIR": str(tmp_path)},
    )
    try:
        shown = wait_for(name, "group 8 is not viable")
        lines = [ln for ln in shown.splitlines() if "journal.json " in ln or "qemu.log " in ln]
        order = [("journal" if "journal.json" in ln else "qemu") for ln in lines[:6]]
        assert order == ["journal", "qemu"] * 3, shown
        assert list(tmp_path.glob("workbench-view-*"))
        keys(name, "q")
        wait_for(name, "EXITED 0")
        assert not list(tmp_path.glob("workbench-view-*"))
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def test_view_of_stdin_shows_the_piped_lines(tmp_path: Path) -> None:
    """`printf ... | workbench view -` shows the piped lines (spooled), the keys still come from
    the terminal: q quits with 0."""
    name = start_session(
        f"printf 'first piped line\\nsecond piped line\\n' | {WORKBENCH} view -",
        {"XDG_STATE_HOME": str(tmp_path), "TMPDIR": str(tmp_path)},
    )
    try:
        shown = wait_for(name, "second piped line")
        assert "first piped line" in shown
        keys(name, "q")
        wait_for(name, "EXITED 0")
        assert not list(tmp_path.glob("workbench-view-*"))
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def test_view_of_gzipped_stdin_shows_its_last_line_too(tmp_path: Path) -> None:
    """`gzip -c | workbench view -`: decoded as it comes; a last line without its newline is
    shown once the pipe ends."""
    import gzip

    log = tmp_path / "piped.log.gz"
    log.write_bytes(gzip.compress(b"zipped first line\nzipped last line, no newline"))
    name = start_session(
        f"cat {log} | {WORKBENCH} view -",
        {"XDG_STATE_HOME": str(tmp_path), "TMPDIR": str(tmp_path)},
    )
    try:
        shown = wait_for(name, "zipped last line, no newline")
        assert "zipped first line" in shown
        keys(name, "q")
        wait_for(name, "EXITED 0")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def test_view_of_the_kernel_shows_a_line_written_to_kmsg(tmp_path: Path) -> None:
    """`workbench view --kernel` shows a line written to /dev/kmsg while it runs."""
    if not os.access("/dev/kmsg", os.W_OK):
        pytest.skip("/dev/kmsg is not writable here")
    marker = f"workbench-view-test-{uuid.uuid4().hex[:8]}"
    name = start_session(
        f"{WORKBENCH} view --kernel", {"XDG_STATE_HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    )
    try:
        wait_for(name, "kernel")
        time.sleep(0.5)  # the spool's follow is running
        with Path("/dev/kmsg").open("w") as kmsg:
            kmsg.write(f"{marker}\n")
        wait_for(name, marker)
        keys(name, "q")
        wait_for(name, "EXITED 0")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def test_view_without_a_file_shows_our_own_log(tmp_path: Path) -> None:
    """`workbench view` alone opens Workbench's own log (under $XDG_STATE_HOME)."""
    log = tmp_path / "workbench" / "workbench.log"
    log.parent.mkdir()
    log.write_text(
        '{"timestamp": "2025-11-29T08:00:00Z", "level": "info", "event": "our own record",'
        ' "logger": "workbench.test"}\n'
    )
    name = start_session(f"{WORKBENCH} view", {"XDG_STATE_HOME": str(tmp_path)})
    try:
        shown = wait_for(name, "our own record")
        assert "workbench 2025-11-29T08:00:00Z" in shown  # marked as our own log
        keys(name, "q")
        wait_for(name, "EXITED 0")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--qemu", "../x"], "--qemu: not a domain name"),
        (["--qemu", "nosuchvm"], "nosuchvm.log: no such file"),
        (["--capture", "/nonexistent-capture.tar.gz"], "no such capture file"),
        (["--capture", "/nonexistent-capture.tar.gz", "a.log"], "not both"),
        (["-", "-"], "can be given once"),
    ],
)
def test_view_bad_sources_are_one_line_exit_2(args: list[str], said: str) -> None:
    """A source that cannot be read or a bad combination: one line saying why, exit 2."""
    result = run_cli("view", *args, input="")
    assert result.returncode == 2, result
    assert said in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_view_of_a_capture_shows_its_recorded_kernel_log(tmp_path: Path) -> None:
    """`workbench view --capture FILE --kernel` shows the kernel log the capture recorded."""
    from workbench.demo import demo_environment

    archive = tmp_path / "demo.tar.gz"
    with demo_environment(tmp_path / "demo") as env:
        argv = ["capture", "--root", str(env.root), "--connect", env.uri, "-o", str(archive)]
        made = run_cli(*argv)
        assert made.returncode == 0, made.stderr
    name = start_session(
        f"{WORKBENCH} view --capture {archive} --kernel",
        {"XDG_STATE_HOME": str(tmp_path), "TMPDIR": str(tmp_path)},
    )
    try:
        shown = wait_for(name, "DMAR: IOMMU enabled")
        assert "kernel" in shown and "Linux version" in shown
        keys(name, "q")
        wait_for(name, "EXITED 0")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)
