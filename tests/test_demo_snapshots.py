"""Snapshot SVGs of the demo's failing VM as a new user meets it (in snapshots/ui/): its row on
the VMs screen, the merged logs with the explained lines marked, the demo fleet's table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.test_ui_snapshots import domains_loaded, select_vm, settle
from workbench.ui.screens.machinelogs import MachineLogsScreen

VM = "media-server"


def test_vms_media_server_did_not_start(
    snap_compare: Any, make_app: Callable[..., Any], demo_env: Any
) -> None:
    """VMs of the demo with media-server selected: `shutoff · start failed` in red and, in its
    Why column, `Another device of the IOMMU group is on a host driver`; below, "Why
    media-server did not start" with QEMU's `group 11 is not viable` lines and the audio's
    snd_hda_intel as evidence, the remedy after →."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app: Any = pilot.app
        await settle(pilot, lambda: domains_loaded(pilot) and VM in app.virt.failures)
        await pilot.press("v")  # the VMs screen
        await select_vm(pilot, VM)
        await settle(pilot, lambda: True)

    assert snap_compare(
        make_app(demo_env.root, demo_env.uri), terminal_size=(160, 48), run_before=run_before
    )


def test_logs_merged_with_the_failed_start_marked(
    snap_compare: Any, make_app: Callable[..., Any], demo_env: Any
) -> None:
    """`l`, enter: the kernel log, media-server's QEMU log and ours merged by time (3 sources),
    ◆ on the explained lines (the snd_hda_intel boot lines, QEMU's two error lines); the
    cursor on QEMU's `group 11 is not viable` line (two up from the last), the detail pane
    naming the cause (GROUP_MEMBER_NOT_VFIO) and its remedy."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app: Any = pilot.app
        await settle(pilot, lambda: domains_loaded(pilot) and VM in app.virt.failures)
        await pilot.press("l")  # the picker: ours, the kernel's and media-server's ticked
        await pilot.pause(0.2)
        await pilot.press("enter")  # merged by time
        await settle(
            pilot,
            lambda: isinstance(app.screen, MachineLogsScreen) and app.screen.merged,
        )
        await pilot.press("end", "up", "up")  # from the last line (QEMU's shutting down)
        detail = app.screen.query_one("#detail-text")  # to QEMU's error line, two up
        await settle(pilot, lambda: "GROUP_MEMBER_NOT_VFIO" in str(detail.render()))

    assert snap_compare(
        make_app(demo_env.root, demo_env.uri), terminal_size=(160, 48), run_before=run_before
    )


@pytest.fixture
def demo_fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The demo fleet, probed for real from its sosreports (built in a private cache), each
    machine's source shown by its file name (no temporary path in the picture)."""
    from workbench.demo_sos import cached_fleet
    from workbench.fleet.discover import discover
    from workbench.fleet.run import run_fleet

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    entries, problems = discover([cached_fleet()], tmp_path)
    assert not problems
    fleet = run_fleet(entries, 2, None, tmp_path)
    for machine in fleet.machines:
        machine.source = Path(machine.source).name
    return fleet


def test_demo_fleet_table(snap_compare: Any, demo_fleet: Any) -> None:
    """`workbench demo --fleet`: four machines (adl-dual-radeon, b550-lab, demo-workstation,
    duo-z370) x the probes as glyphs; demo-workstation and duo-z370 both ✘ in libvirt.domains
    and vm.preflight (the same cause: a group member on snd_hda_intel); below the table the
    text table's "failing probes:" and "causes:" groups (GROUP_MEMBER_NOT_VFIO: both, (2))."""
    from workbench.ui.fleet.app import FleetApp

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot, lambda: True)

    # wide enough for every probe's column: the two machines' ✘ are in the last three; tall
    # enough for the four rows and the shared groups below them
    assert snap_compare(FleetApp(demo_fleet), terminal_size=(300, 24), run_before=run_before)
