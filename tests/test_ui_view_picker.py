"""`l` in the workbench: the picker offers the machine's logs (ours, the kernel's, each VM's
QEMU log) and enter opens the chosen ones merged by time in the view screen."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import SelectionList

from workbench.ui.screens.logpicker import LogPickerScreen
from workbench.ui.screens.logs import LogsScreen
from workbench.ui.screens.machinelogs import MachineLogsScreen
from workbench.ui.widgets.merged_view import MergedView

KERNEL_LINE = "[    1.000000] DMAR: IOMMU enabled on the demo machine"
QEMU_LINE = "2025-11-29T08:00:03.000000Z qemu-system-x86_64: demo guest line"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Any]:
    """A demo environment of this test's own (the shared fixed-path one is for snapshots)."""
    from workbench.demo import demo_environment

    with demo_environment(tmp_path / "demo") as env:
        yield env


async def until(
    pilot: Pilot[Any],
    predicate: Callable[[], bool],
    timeout_s: float = 15,
    why: Callable[[], str] = lambda: "condition not reached",
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        assert loop.time() < deadline, why()
        await pilot.pause(0.05)


async def open_picker(pilot: Pilot[Any], app: Any) -> None:
    """`l` once the workbench has its domains and media-server's failed start: the picker."""
    await until(pilot, lambda: len(app.virt.domains) == 4 and "media-server" in app.virt.failures)
    await pilot.press("l")
    await until(
        pilot,
        lambda: isinstance(app.screen, LogPickerScreen),
        why=lambda: f"{app.screen} {app.focused} {[str(n.message) for n in app._notifications]}",
    )


def record_logs(root: Path, vm: str) -> None:
    """A recorded kernel log and `vm`'s QEMU log in the demo machine's root."""
    (root / "logs").mkdir(exist_ok=True)
    (root / "logs" / "kernel.log").write_text(KERNEL_LINE + "\n")
    qemu = root / "var" / "log" / "libvirt" / "qemu"
    qemu.mkdir(parents=True, exist_ok=True)
    (qemu / f"{vm}.log").write_text(QEMU_LINE + "\n")


def closed(fd: int) -> bool:
    """Whether descriptor `fd` is closed."""
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False


def shown(app: Any) -> str:
    """The merged view's lines as text."""
    view = app.screen.query_one(MergedView)
    return "\n".join(str(view.render_line(y).text) for y in range(view.size.height))


async def test_l_offers_kernel_each_vm_and_ours(make_app: Callable[..., Any], demo: Any) -> None:
    """`l` in the demo offers ours, the kernel's log and each VM's QEMU log, saying which ones
    the recorded machine does not hold; ours, the kernel's and the QEMU log of the VM whose
    start failed (media-server) are ticked."""
    app = make_app(demo.root, demo.uri)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: len(app.virt.domains) == 4)
        await open_picker(pilot, app)
        labels = [c.label for c in app.screen.choices]
        vms = sorted(d.name for d in app.virt.domains)
        assert labels == ["workbench", "kernel", *(f"qemu:{vm}" for vm in vms)]
        said = {c.label: c.what for c in app.screen.choices}
        assert "not recorded" not in said["kernel"]  # the demo machine records its kernel log
        assert "(not recorded)" not in said["qemu:media-server"]  # the failed start's log
        others = [vm for vm in vms if vm != "media-server"]
        assert all("(not recorded)" in said[f"qemu:{vm}"] for vm in others)  # and no other
        picker = app.screen.query_one(SelectionList)
        assert picker.selected == [0, 1, 2]  # ours, the kernel's, qemu:media-server
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, LogPickerScreen))


async def test_enter_on_ours_alone_is_the_logs_screen(
    make_app: Callable[..., Any], demo: Any
) -> None:
    """Our own log alone: enter shows today's logs screen."""
    app = make_app(demo.root, demo.uri)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_picker(pilot, app)
        await pilot.press("down", "space", "down", "space")  # kernel, qemu:media-server off
        assert app.screen.query_one(SelectionList).selected == [0]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LogsScreen))


async def test_ticked_logs_open_merged_by_time(make_app: Callable[..., Any], demo: Any) -> None:
    """Kernel and a VM's QEMU log ticked with ours (ours alone ticked, then space on each):
    enter opens the view screen with the three merged, each line marked with its source; q
    goes back to the workbench and the sources are closed."""
    app = make_app(demo.root, demo.uri)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: len(app.virt.domains) == 4)
        vm = "truenas"  # its QEMU log is the fourth choice
        record_logs(Path(demo.root), vm)
        await open_picker(pilot, app)
        await pilot.press("down", "space", "down", "space")  # the failed start's ticks off
        assert app.screen.query_one(SelectionList).selected == [0]
        await pilot.press("down", "space", "up", "up", "space", "enter")
        await until(
            pilot,
            lambda: isinstance(app.screen, MachineLogsScreen),
            why=lambda: f"{app.screen} {[str(n.message) for n in app._notifications]}",
        )
        screen = app.screen
        assert [s.label for s in screen.timeline.sources] == ["workbench", "kernel", f"qemu:{vm}"]
        await until(pilot, lambda: screen.merged)
        await until(pilot, lambda: "demo guest line" in shown(app), why=lambda: shown(app))
        text = shown(app)
        assert "IOMMU enabled" in text and f"qemu:{vm}" in text and "workbench" in text
        await pilot.press("q")
        await until(pilot, lambda: not isinstance(app.screen, MachineLogsScreen))
        assert app.is_running
        await until(pilot, lambda: all(closed(s.fd) for s in screen.timeline.sources))
        assert not any("rror" in str(n.title) for n in app._notifications)
