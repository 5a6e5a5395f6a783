"""fleet --progress into a file (a line per tenth, no carriage returns) and on a terminal
(Ctrl-C's message on a line of its own); --json and --text together refused; one machine's
bug (any exception) is that machine's error row; the free-space headroom names the bundle."""

from __future__ import annotations

import os
import pty
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import WORKBENCH, run_cli
from tests.fleet_helpers import HOTSOS, bundle, capture_of, sos_archive
from tests.sosarchives import report_tree
from workbench.fleet.discover import discover, fleet_workdir
from workbench.fleet.model import FleetEntry
from workbench.fleet.run import probe_entry

pytestmark = pytest.mark.skipif(not HOTSOS.is_dir(), reason="../shared is absent")


@pytest.fixture(scope="module")
def thirty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 copies of one real capture."""
    work = tmp_path_factory.mktemp("thirty")
    one = capture_of("asrock-z170-gtx960", work, work / "one.tar.gz")
    top = work / "fleet"
    top.mkdir()
    for i in range(30):
        shutil.copy(one, top / f"host-{i:02d}.tar.gz")
    return top


def test_progress_into_a_file_is_a_few_whole_lines(thirty: Path, tmp_path: Path) -> None:
    """stderr into a file: no carriage return, at most a line per tenth of the fleet and the
    last one, `30/30 machines`."""
    log = tmp_path / "err.log"
    with log.open("w") as err:
        done = subprocess.run(
            [str(WORKBENCH), "fleet", str(thirty), "--json", "--progress", "--workers", "2"],
            stdout=subprocess.PIPE,
            stderr=err,
            timeout=300,
            check=False,
        )
    assert done.returncode in (0, 1)
    said = log.read_text()
    assert "\r" not in said
    lines = [line for line in said.splitlines() if "machines" in line]
    assert 1 <= len(lines) <= 11
    assert lines[-1].startswith("30/30 machines")


def test_ctrl_c_on_a_terminal_ends_the_progress_line_first(thirty: Path, tmp_path: Path) -> None:
    """With stderr a terminal, Ctrl-C mid-fleet: `workbench: interrupted` starts a line of its
    own, never glued to `N/M machines`."""
    main, secondary = pty.openpty()
    out = (tmp_path / "out.json").open("wb")
    proc = subprocess.Popen(
        [
            str(WORKBENCH),
            "fleet",
            str(thirty),
            "--json",
            "--progress",
            "--workers",
            "2",
            "--no-index",
        ],
        stdout=out,
        stderr=secondary,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 60
    while b"/30 machines" not in seen and time.monotonic() < deadline:
        seen += os.read(main, 4096)
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=60)
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    out.close()
    assert proc.returncode == 130, seen
    text = seen.decode("utf-8", "replace").replace("\r\n", "\n")
    assert "workbench: interrupted" in text
    before = text.split("workbench: interrupted", 1)[0]
    assert before.endswith("\n"), repr(text[-200:])


def test_json_and_text_together_are_refused(thirty: Path) -> None:
    """`fleet --json --text`: a usage error (exit 2), nothing probed."""
    done = run_cli("fleet", str(thirty), "--json", "--text")
    assert done.returncode == 2
    assert "not allowed with" in done.stdout + done.stderr
    assert "workbench.fleet/1" not in done.stdout


def test_any_exception_is_that_machines_error_row(tmp_path: Path) -> None:
    """A machine whose opening raises what no opener expects (here a TypeError: a kind no
    opener takes) is its own error row naming the exception, not the fleet's crash."""
    entry = FleetEntry(name="odd", source=str(tmp_path), kind="bogus")  # type: ignore[arg-type]
    machine = probe_entry(entry)
    assert machine.error is not None
    assert machine.error["code"] == "FLEET_OPEN"
    assert "TypeError" in machine.error["message"]
    assert machine.statuses == {}


def test_no_free_room_names_the_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bundle whose next node needs more room than the temp filesystem has free (less the
    sos unpack's headroom): the nodes are not taken and the problem names the bundle."""
    import workbench.sos.archive as sos_archive_mod

    tree = report_tree(tmp_path / "trees", "sosreport-n1-2026-11-29-abcdef")
    report = sos_archive(tree, tmp_path / f"{tree.name}.tar.xz")
    outer = bundle([report], tmp_path / "sos-collector-r.tar.gz")
    monkeypatch.setattr(sos_archive_mod, "_room", lambda _into: 10)
    with fleet_workdir() as work:
        entries, problems = discover([outer], work)
    assert entries == []
    (said,) = [p for p in problems if "more than is free" in p]
    assert said.startswith(str(outer)) and report.name in said
