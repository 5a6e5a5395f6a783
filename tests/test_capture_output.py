"""Where `workbench capture -o` writes: a regular file (made or replaced), or stdout with `-o -`;
never over a device node, a FIFO or a socket (renaming over one would replace it)."""

from __future__ import annotations

import os
import pty
import socket
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import WORKBENCH, run_cli
from workbench.capture.unpack import open_capture


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _char_device(path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # our own null, under tmp_path


def _socket(path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()


def _link_to_fifo(path: Path) -> None:
    fifo = path.with_name("real-fifo")
    os.mkfifo(fifo)
    path.symlink_to(fifo)


@pytest.mark.parametrize(
    "make", [_fifo, _char_device, _socket, _link_to_fifo], ids=["fifo", "chr", "sock", "link"]
)
def test_a_target_that_is_not_a_regular_file_is_refused_before_collecting(
    make: Callable[[Path], None], make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """-o naming a FIFO, a device node, a socket (or a link to one): exit 2, one line, the
    node is still what it was, and nothing was collected (no temp file left beside it)."""
    root = make_root("asrock-z170-gtx960")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "target"
    make(target)
    before = target.stat()
    done = run_cli("capture", "--root", str(root), "-o", str(target))
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "not a regular file" in done.stderr
    assert "Traceback" not in done.stderr
    after = target.stat()
    assert (stat.S_IFMT(after.st_mode), after.st_ino, after.st_rdev) == (
        stat.S_IFMT(before.st_mode),
        before.st_ino,
        before.st_rdev,
    )
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        ["target", *(["real-fifo"] if target.is_symlink() else [])]
    )


def test_an_existing_regular_file_is_replaced(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """-o naming an existing capture replaces it with the new one (the ordinary re-run)."""
    root = make_root("asrock-z170-gtx960")
    target = tmp_path / "c.tar.gz"
    target.write_bytes(b"old")
    done = run_cli("capture", "--root", str(root), "-o", str(target))
    assert done.returncode == 0, done.stderr
    with open_capture(target) as opened:
        assert (opened / "manifest.json").is_file()


def test_dash_writes_the_archive_to_stdout_and_talks_on_stderr(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """-o - with stdout a pipe: the archive is stdout, byte for byte a capture; what the command
    says goes to stderr; no file named '-' is made."""
    root = make_root("asrock-z170-gtx960")
    done = subprocess.run(
        [str(WORKBENCH), "capture", "--root", str(root), "-o", "-"],
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "-").exists()
    assert b"redacted:" in done.stderr
    saved = tmp_path / "piped.tar.gz"
    saved.write_bytes(done.stdout)
    with open_capture(saved) as opened:
        assert (opened / "proc/cmdline").is_file()


def test_dash_on_a_terminal_is_refused(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """-o - with stdout a terminal: exit 2, one line, no binary written to the terminal."""
    root = make_root("asrock-z170-gtx960")
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [str(WORKBENCH), "capture", "--root", str(root), "-o", "-"],
            stdout=follower,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
        os.set_blocking(leader, False)
        try:
            shown = os.read(leader, 65536)
        except BlockingIOError:
            shown = b""
    finally:
        os.close(leader)
        os.close(follower)
    assert done.returncode == 2, done.stderr
    assert b"terminal" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert shown == b""
    assert not (tmp_path / "-").exists()
