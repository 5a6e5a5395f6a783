"""`workbench open SOSREPORT` in a real terminal (tmux): titled as the sosreport, its machine."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import WORKBENCH
from tests.sosarchives import pack, report_tree
from tests.test_ui_tmux import keys, start_session, wait_for


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The workbench opened on a sosreport archive (named without its suffix), in tmux."""
    (tmp_path / "src").mkdir()
    archive = pack(report_tree(tmp_path / "src"), tmp_path / "customer-upload")
    private = tmp_path / "private"
    private.mkdir()
    name = start_session(
        f"{WORKBENCH} open {archive}", {"XDG_STATE_HOME": str(tmp_path), "TMPDIR": str(private)}
    )
    yield name, private
    subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def test_open_a_sosreport_in_the_tui(tmux: tuple[str, Path]) -> None:
    """The title names the sosreport as given, the status bar its host; q leaves nothing."""
    name, private = tmux
    shown = wait_for(name, "Workbench — sosreport customer-upload")
    wait_for(name, "pci.gpus")
    shown = wait_for(name, "gpuhost")
    assert "workbench-sos-" not in shown.splitlines()[1]  # the machine's name, not the temp root
    keys(name, "q")  # quit
    wait_for(name, "EXITED 0")
    assert list(private.iterdir()) == []
