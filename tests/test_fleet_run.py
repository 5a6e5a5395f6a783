"""fleet.run: progress, Ctrl-C (the pool stops, nothing is left in the temp directory)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import WORKBENCH, run_cli
from tests.fleet_helpers import bundle, capture_of, sos_archive
from tests.sosarchives import report_tree


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 copies of one real capture and a `sos collect` bundle of one node."""
    work = tmp_path_factory.mktemp("many")
    one = capture_of("asrock-z170-gtx960", work, work / "one.tar.gz")
    top = work / "fleet"
    top.mkdir()
    for i in range(24):
        shutil.copy(one, top / f"host-{i:02d}.tar.gz")
    tree = report_tree(work / "trees", "sosreport-n0-2026-11-29-abcdef")
    report = sos_archive(tree, work / f"{tree.name}.tar.xz")
    bundle([report], top / "sos-collector-c.tar.gz")
    return top


def test_progress_is_counted_on_stderr_when_asked(many: Path) -> None:
    """--progress prints `N/M machines` on stderr, ending with all of them; stdout is the
    document alone."""
    done = run_cli("fleet", str(many), "--json", "--progress", "--workers", "2")
    assert done.returncode in (0, 1), done.stderr
    assert "25/25 machines" in done.stderr
    assert done.stdout.lstrip().startswith("{")


def test_no_progress_without_a_terminal(many: Path) -> None:
    """Without --progress and with stderr not a terminal, nothing is counted."""
    done = run_cli("fleet", str(many), "--json", "--workers", "2")
    assert "machines" not in done.stderr


def test_ctrl_c_stops_the_pool_and_leaves_no_temp_dir(many: Path, tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the process group) mid-fleet: exit 130, every process gone, the
    bundle's extracted reports and every unpacked capture removed."""
    private = tmp_path / "tmp"
    private.mkdir()
    env = {**os.environ, "TMPDIR": str(private)}
    proc = subprocess.Popen(
        # --no-index: the copies would be found in the index after the first, the run over
        # before Ctrl-C; this is about stopping the pool mid-unpack
        [str(WORKBENCH), "fleet", str(many), "--progress", "--workers", "2", "--no-index"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
        # A terminal's Ctrl-C reaches a process that handles SIGINT; a background job (this
        # test run's, maybe) inherits it ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + 60
    while b"/25 machines" not in seen and time.monotonic() < deadline:
        seen += os.read(proc.stderr.fileno(), 4096)
    assert b"/25 machines" in seen
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    assert _group_gone(proc.pid, within_s=20)
    assert list(private.iterdir()) == []


def _group_gone(pgid: int, within_s: float) -> bool:
    """Whether every process of the group has gone (the forkserver's workers are reaped by
    init once it leaves: a moment after the command)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False
