"""The new user's path through `workbench demo` in a real terminal (tmux): the overview names
the failing VM's cause, the VMs screen says why media-server did not start with its evidence
lines and remedy, the logs merged by time mark the lines that explain it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import WORKBENCH
from tests.test_ui_tmux import keys, start_session, wait_for

TITLE = "Another device of the IOMMU group is on a host driver"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    name = start_session(f"{WORKBENCH} demo", env)
    yield name
    subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def test_a_new_user_finds_the_cause_its_evidence_and_the_remedy(demo: str) -> None:
    """`workbench demo` -> the overview shows the cause -> v: media-server `start failed`,
    selected (the first row), "Why media-server did not start" with QEMU's `group 11 is not
    viable` line, the audio on snd_hda_intel and the remedy -> l, enter: the kernel log, its
    QEMU log and ours merged, the explained lines marked; /not viable wraps round to QEMU's
    line (the view opens at the end), on it the cause and remedy
    -> q back, q quits."""
    shown = wait_for(demo, f"cause: {TITLE}")  # the overview, vm.preflight's row
    assert "vm.preflight" in shown
    keys(demo, "v")
    shown = wait_for(demo, "Why media-server did not start")  # its row is the first, selected
    assert "shutoff · start failed" in shown
    assert "group 11 is not viable" in shown  # the evidence: QEMU's line
    assert "0000:04:00.1 driver: snd_hda_intel" in shown  # and the machine's fact
    assert "→ Bind every device of the group" in shown  # the remedy
    keys(demo, "l")
    wait_for(demo, "merged by time")  # the picker: the failed start's logs ticked
    keys(demo, "Enter")
    shown = wait_for(demo, "3 source(s)")
    wait_for(demo, "◆ 5 explained")
    keys(demo, "/")
    wait_for(demo, "search: a regular expression")  # the search box has the keys now
    keys(demo, "not viable", "Enter")  # forward from the end (ours is newest): round the top
    wait_for(demo, "wrapped")
    shown = wait_for(demo, "(GROUP_MEMBER_NOT_VFIO)")  # the detail pane names the cause
    assert "◆qemu:media-ser" in shown  # the marked line, its source
    assert "remedy: Bind every device of the group" in shown
    keys(demo, "q")  # back to the workbench
    wait_for(demo, "Why media-server did not start")
    keys(demo, "q")
    wait_for(demo, "EXITED 0")
