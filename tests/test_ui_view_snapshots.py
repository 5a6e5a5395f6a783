"""Snapshot SVGs of `workbench view`, one user-visible state each (in snapshots/ui/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.view_helpers import make_view, merged, write_logs

SIZES = [(80, 24), (160, 48)]


@pytest.mark.parametrize("size", SIZES)
def test_merged_view(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    """A journal and a QEMU log merged by time: sources alternate, each row names its source,
    the error row red, the warning yellow, the explained QEMU line marked ◆ (cursor on it),
    its cause's title, code and remedy in the detail pane."""
    app = make_view(*write_logs(tmp_path))
    assert snap_compare(app, terminal_size=size, run_before=merged)


def test_search_highlight(snap_compare: Any, tmp_path: Path) -> None:
    """`/qemu line` from the top: every hit highlighted, the cursor on the first, its detail
    below."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await merged(pilot)
        await pilot.press("g", "slash", *"qemu line", "enter")
        await pilot.pause(0.3)

    app = make_view(*write_logs(tmp_path))
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_wrap_toggle(snap_compare: Any, tmp_path: Path) -> None:
    """ctrl+w on: the journal's long rows wrap onto the next lines instead of being cut."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await merged(pilot)
        await pilot.press("g", "ctrl+w")
        await pilot.pause(0.2)

    app = make_view(*write_logs(tmp_path))
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_log_picker(snap_compare: Any) -> None:
    """`l`'s picker on a live machine with three VMs: ours ticked, the kernel's log and each
    VM's QEMU log on offer, the second row highlighted and ticked with space."""
    from textual.app import App

    from workbench.ui.screens.logpicker import LogPickerScreen, machine_logs

    class PickerApp(App[None]):
        def on_mount(self) -> None:
            choices = machine_logs(True, ["truenas", "ubuntu-dev", "win11-gaming"], None)
            self.push_screen(LogPickerScreen(choices))

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.press("down", "space")
        await pilot.pause(0.2)

    assert snap_compare(PickerApp(), terminal_size=(80, 24), run_before=run_before)
