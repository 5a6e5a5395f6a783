"""`--capture` given something that is not a capture file: said by its kind, in one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_cli


def not_a_capture(kind: str, d: Path) -> Path:
    """A path of the given kind under `d` (or the system's /dev/zero)."""
    if kind == "fifo":
        os.mkfifo(d / "fifo")
        return d / "fifo"
    if kind == "device":
        return Path("/dev/zero")
    if kind == "link-loop":
        (d / "a").symlink_to(d / "b")
        (d / "b").symlink_to(d / "a")
        return d / "a"
    if kind == "dangling-link":
        (d / "dangling").symlink_to(d / "gone")
        return d / "dangling"
    return d / "missing.tar.gz"


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("fifo", "a FIFO, not a capture file"),
        ("device", "a device, not a capture file"),
        ("link-loop", "cannot be read (Too many levels of symbolic links)"),
        ("dangling-link", "a link to nothing"),
        ("missing", "no such capture file"),
    ],
)
def test_capture_that_is_not_a_file_is_named_by_its_kind(
    tmp_path: Path, kind: str, said: str
) -> None:
    """A FIFO, a device, a link loop, a dangling link or a missing path: exit 2, one line
    that says which (not "no such capture file" for all of them), nothing read from it."""
    proc = run_cli("probe", "--capture", str(not_a_capture(kind, tmp_path)))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert said in proc.stderr
