"""`probe --format prometheus -o FILE`: the textfile replaced atomically, and refusals of bad -o."""

from __future__ import annotations

import os
import resource
import stat
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import WORKBENCH, put, run_as, run_cli
from workbench.core.atomicfile import check_writable, write_atomic
from workbench.core.errors import ConfigError
from workbench.core.machinelogs import KERNEL_LOG

OLD = b'# the previous run\'s textfile\nworkbench_causes{code="OLD"} 1\n'


@pytest.fixture
def root(make_root: Callable[..., Path], minimal_facts: dict[str, Any]) -> Path:
    """A machine root whose kernel log is clean."""
    made: Path = make_root(minimal_facts)
    put(made, KERNEL_LOG, "[    0.000000] Linux version 6.8\n")
    return made


def _probe_to(root: Path, target: Path | str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "probe", "--root", str(root), "--only", "kernel.log", "--format", "prometheus",
        "-o", str(target), **kwargs,
    )  # fmt: skip


def test_o_replaces_the_file_by_rename(root: Path, tmp_path: Path) -> None:
    """The old file is replaced whole by a new inode (a reader holding it keeps the old text),
    nothing on stdout, mode 0644 whatever the umask, no temp file left."""
    out_dir = tmp_path / "textfile"
    out_dir.mkdir()
    target = out_dir / "workbench.prom"
    target.write_bytes(OLD)
    with target.open("rb") as reader:
        done = subprocess.run(
            ["sh", "-c", 'umask 077 && exec "$@"', "sh", str(WORKBENCH), "probe", "--root",
             str(root), "--only", "kernel.log", "--format", "prometheus", "-o", str(target)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert reader.read() == OLD  # the old inode, untouched
    assert done.stdout == ""
    text = target.read_text()
    families = {f.name for f in text_string_to_metric_families(text)}
    assert families == {
        "workbench_probe_status",
        "workbench_probe_duration_seconds",
        "workbench_causes",
    }
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in out_dir.iterdir()) == ["workbench.prom"]


def _limit_file_size() -> None:
    """In the child: no file may grow past 200 bytes (a full disk, as the write sees it)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))


def test_a_failed_write_leaves_the_old_file_and_no_temp(root: Path, tmp_path: Path) -> None:
    """When the write fails half-way (EFBIG here, ENOSPC alike) the old file stays as it was,
    the temp file is removed, and the error is one line with exit 2."""
    out_dir = tmp_path / "textfile"
    out_dir.mkdir()
    target = out_dir / "workbench.prom"
    target.write_bytes(OLD)
    done = subprocess.run(
        [str(WORKBENCH), "probe", "--root", str(root), "--format", "prometheus", "-o", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=_limit_file_size,  # a resource limit, set before exec
    )
    assert done.returncode == 2, done.stderr
    assert target.read_bytes() == OLD
    assert sorted(p.name for p in out_dir.iterdir()) == ["workbench.prom"]
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith(f"workbench: cannot write {target}: File too large"), lines
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: d, "it is a directory"),
        (lambda d: d / "missing" / "workbench.prom", "no directory"),
        (lambda d: (os.mkfifo(d / "fifo"), d / "fifo")[1], "it is not a regular file"),
    ],
    ids=["directory", "missing-directory", "fifo"],
)
def test_bad_o_is_refused_before_probing(
    root: Path, tmp_path: Path, make: Callable[[Path], Path], words: str
) -> None:
    """A directory, a missing directory or a FIFO as -o: one line, exit 2, nothing written."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = make(out_dir)
    done = _probe_to(root, target)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--format", "json", "-o", "x.prom"], "--format prometheus"),
        (["-o", "x.prom"], "--format prometheus"),
        (["--json", "--format", "prometheus"], "two formats"),
        (["--format", "prometheus", "-o", ""], "empty"),
        (["--format", "openmetrics"], "invalid choice"),
    ],
)
def test_bad_format_options(root: Path, tmp_path: Path, args: list[str], words: str) -> None:
    """Options that do not go together are refused with one clear line and exit 2."""
    done = run_cli("probe", "--root", str(root), *args, cwd=tmp_path)
    assert done.returncode == 2
    assert words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.glob("*.prom")) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_an_unwritable_directory_is_said() -> None:
    """A directory the user cannot write is refused by name (the rename needs it)."""
    # Not under tmp_path: pytest keeps its base directory 0700, closed to the other user.
    with tempfile.TemporaryDirectory() as base:
        Path(base).chmod(0o755)  # the other user must reach `locked`
        locked = Path(base) / "locked"
        locked.mkdir(mode=0o755)
        _refused_to_nobody(locked)


def _refused_to_nobody(locked: Path) -> None:

    def attempt() -> str:
        try:
            check_writable(locked / "workbench.prom")
        except ConfigError as exc:
            return exc.message
        return "accepted"

    message = run_as(65534, attempt)
    assert (
        message == f"cannot write {locked / 'workbench.prom'}: directory {locked} is not writable"
    )


def test_write_atomic_makes_a_new_file(tmp_path: Path) -> None:
    """A new target is created whole, 0644, with no temp file beside it."""
    target = tmp_path / "new.prom"
    write_atomic(target, b"x 1\n")
    assert target.read_bytes() == b"x 1\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["new.prom"]


def test_o_dash_is_standard_output(root: Path, tmp_path: Path) -> None:
    """`-o -` prints the textfile, as `capture -o -` prints the archive; no file named -."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    done = _probe_to(root, "-", cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# HELP workbench_probe_status ")
    assert list(cwd.iterdir()) == []


def test_a_hostile_o_name_is_shown_escaped(root: Path, tmp_path: Path) -> None:
    """Terminal escapes in -o's name reach stderr escaped, never raw."""
    target = tmp_path / "missing\x1b]0;PWN\x07" / "w.prom"
    done = _probe_to(root, target)
    assert done.returncode == 2
    assert "\x1b" not in done.stderr and "\\x1b]0;PWN\\x07" in done.stderr, done.stderr
