"""Snapshot SVGs of the workbench, one user-visible state each (in snapshots/ui/)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from workbench.ui.widgets.log_view import LogView

SIZES = [(80, 24), (160, 48)]


async def settle(pilot: Pilot[Any], done: Callable[[], bool], timeout_s: float = 15) -> None:
    """Wait for `done`, then for every message and refresh it caused to be processed."""
    for _ in range(int(timeout_s / 0.05)):
        if done():
            break
        await pilot.pause(0.05)
    for _ in range(3):
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.1)


def probes_done(pilot: Pilot[Any]) -> bool:
    app: Any = pilot.app
    return app.probes.report is not None


async def select_vm(pilot: Pilot[Any], name: str) -> None:
    """Put the VM table's cursor on `name`."""
    table = pilot.app.screen.query_one("#domains", DataTable)
    table.move_cursor(row=table.get_row_index(name))
    await pilot.pause()


def domains_loaded(pilot: Pilot[Any]) -> bool:
    app: Any = pilot.app
    return probes_done(pilot) and len(app.virt.domains) == 4


@pytest.mark.parametrize("size", SIZES)
def test_overview_demo(
    snap_compare: Any, make_app: Callable[..., Any], demo_env: Any, size: tuple[int, int]
) -> None:
    """The demo machine's overview: the hardware probes pass but vfio.binding (the GTX 1650's
    audio on snd_hda_intel) warns; libvirt.domains and vm.preflight fail for media-server,
    vm.preflight's verdict starting `cause: Another device of the IOMMU group is on a host
    driver ·`; guest.agent fails for ubuntu-dev (no agent); the tally in the bar. The cursor
    on vm.preflight (the first failure with a cause), the verdict line under the table saying
    its whole cause and `enter: details and remedy`."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot, lambda: domains_loaded(pilot))  # wait for every probe and the VMs

    app = make_app(demo_env.root, demo_env.uri)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_overview_no_iommu(
    snap_compare: Any,
    make_app: Callable[..., Any],
    fixed_root: Callable[..., Path],
    minimal_facts: dict[str, Any],
) -> None:
    """A machine without an IOMMU: iommu.enabled fails with its remedy first; iommu.groups and
    vfio.binding say 'blocked by iommu.enabled' instead of failing on their own."""
    devices = [{**d, "iommu_group": None} for d in minimal_facts["devices"]]
    root = fixed_root(minimal_facts, devices=devices, hostname="no-iommu-box")

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot, lambda: probes_done(pilot))

    assert snap_compare(make_app(root), terminal_size=(100, 24), run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_details_not_recorded(
    snap_compare: Any,
    make_app: Callable[..., Any],
    fixed_root: Callable[..., Path],
    minimal_facts: dict[str, Any],
    size: tuple[int, int],
) -> None:
    """Probe details of cpu.virtualization on a root without cpuinfo: status SKIP, "proc/cpuinfo
    not recorded" and what would record it (absence is not judged), the unreadable fact with
    the path the read error took (core.host::read_text, probes.cpu.virtualization::run)."""
    root = fixed_root(minimal_facts, hostname="broken-root")
    (root / "proc/cpuinfo").unlink()

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot, lambda: probes_done(pilot))
        pilot.app.show_details("cpu.virtualization")  # type: ignore[attr-defined]
        await pilot.pause()

    app = make_app(root)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_vms_with_timeline(
    snap_compare: Any, make_app: Callable[..., Any], demo_env: Any, size: tuple[int, int]
) -> None:
    """VMs of the demo hypervisor (read-only): win11-gaming with both GPU functions, its
    timeline below with the initial state read at connect (times hidden in snapshots)."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot, lambda: domains_loaded(pilot))
        await pilot.press("v")  # the VMs screen
        await select_vm(pilot, "win11-gaming")

    assert snap_compare(
        make_app(demo_env.root, demo_env.uri), terminal_size=size, run_before=run_before
    )


@pytest.mark.parametrize("size", SIZES)
def test_logs_errors_only(
    snap_compare: Any,
    make_app: Callable[..., Any],
    fixed_root: Callable[..., Path],
    size: tuple[int, int],
) -> None:
    """The log view filtered to errors: only ERROR and CRITICAL lines (red), the filter line
    says 'level ≥ error · 10 line(s)', the detail pane shows the selected record."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.press("l", "enter")  # the picker, then our log alone: the logs screen
        view = pilot.app.screen.query_one(LogView)
        await settle(pilot, lambda: view._count() == 41)
        await pilot.press("e")  # errors and worse
        line = pilot.app.screen.query_one("#filterline")
        await settle(pilot, lambda: view.rows is not None and "10 line" in str(line.render()))

    app = make_app(fixed_root("asrock-z170-gtx960", hostname="asrock"))
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_retry_countdown(
    snap_compare: Any,
    make_app: Callable[..., Any],
    fixed_root: Callable[..., Path],
    minimal_facts: dict[str, Any],
) -> None:
    """Probe details during a retry with backoff: 'attempt 1/3 failed: … retrying in 30s
    (x to cancel)' under the verdict."""
    root = fixed_root(minimal_facts, hostname="retry-box")
    (root / "proc/cpuinfo").write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t: fpu\n")

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot, lambda: probes_done(pilot))
        pilot.app.show_details("cpu.virtualization")  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("b")  # retry with backoff
        countdown = pilot.app.screen.query_one("#countdown")
        await settle(pilot, lambda: "retrying" in str(countdown.render()))

    app = make_app(root, retry_attempts=3, retry_base_delay_s=30)
    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_fallback_chooser(snap_compare: Any, make_app: Callable[..., Any], demo_env: Any) -> None:
    """The display fallback chooser for win11-gaming: looking-glass and the viewers unavailable
    (with why), the SPICE URI available."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot, lambda: domains_loaded(pilot))
        await pilot.press("v")  # the VMs screen
        await select_vm(pilot, "win11-gaming")
        await pilot.press("f")  # the chooser
        await pilot.pause()

    assert snap_compare(
        make_app(demo_env.root, demo_env.uri), terminal_size=(100, 24), run_before=run_before
    )


def test_help(
    snap_compare: Any, make_app: Callable[..., Any], fixed_root: Callable[..., Path]
) -> None:
    """The help screen over the overview: every key of every screen."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot, lambda: probes_done(pilot))
        await pilot.press("question_mark")

    app = make_app(fixed_root("asrock-z170-gtx960", hostname="asrock"))
    assert snap_compare(app, terminal_size=(100, 24), run_before=run_before)


def test_vms_of_a_capture(
    snap_compare: Any, make_app: Callable[..., Any], demo_env: Any, tmp_path: Path
) -> None:
    """`workbench open` on a capture of the demo: the bar says libvirt 'recorded'; the four VMs
    with the states and GPUs the capture recorded (media-server `shutoff · start failed` with
    its Why, truenas shut off, two running); an empty timeline, and the line above it says
    why: recorded, no live transitions, no actions."""
    from workbench.capture.collect import capture
    from workbench.capture.collectors import Source
    from workbench.capture.unpack import open_capture
    from workbench.core.host import Host

    made = capture(Source(Host(demo_env.root), connect=demo_env.uri), tmp_path / "demo.tar.gz")

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot, lambda: domains_loaded(pilot))
        await pilot.press("v")
        await settle(pilot, lambda: True)
        await select_vm(pilot, "win11-gaming")

    with open_capture(made.path) as root:
        app = make_app(root, None, title="Workbench — capture demo.tar.gz")
        assert snap_compare(app, terminal_size=(120, 30), run_before=run_before)


def test_error_screen(
    snap_compare: Any,
    make_app: Callable[..., Any],
    fixed_root: Callable[..., Path],
    minimal_facts: dict[str, Any],
) -> None:
    """The error screen over the overview, for a worker that failed for real (the CPU probe's
    read of a root without proc/cpuinfo): the title says what failed, then the code and message,
    the module::operation frames the error crossed, its cause, the remedy after →."""
    from probes.cpu import read_cpuinfo
    from workbench.core.host import Host

    root = fixed_root(minimal_facts, hostname="broken-root")
    (root / "proc/cpuinfo").unlink()

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot, lambda: probes_done(pilot))
        pilot.app.run_worker(  # the real failing read, in a worker like every blocking call
            lambda: read_cpuinfo(Host(root)), name="read the CPU", thread=True, exit_on_error=False
        )
        await settle(pilot, lambda: type(pilot.app.screen).__name__ == "ErrorScreen")

    app = make_app(root)
    assert snap_compare(app, terminal_size=(100, 24), run_before=run_before)


def test_details_with_causes(
    snap_compare: Any, make_app: Callable[..., Any], fixed_root: Callable[..., Path]
) -> None:
    """Details of a probe that explained a kernel log: FAIL; findings tagged with their cause
    codes (their remedies under the causes); "Causes explained (3)"; the memlock cause first
    (red title, code, % likely, limit 65536), its evidence line with a dim line number and
    the markup/ANSI of the line shown literally (`[bold]x[/]`, `\\x1b[31m`), its remedy after
    →, its reference; the boot framebuffer cause with its two iomem lines; the CPU-feature
    warning last under "Harmless lines", dim, no remedy."""
    from tests.ui_cause_helpers import ExplainingProbe, with_kernel_log

    root = with_kernel_log(fixed_root("demo-workstation", hostname="causes-box"))

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot, lambda: probes_done(pilot))
        pilot.app.show_details("test.evidence")  # type: ignore[attr-defined]
        await pilot.pause()

    app = make_app(root)
    app.probes.classes.insert(0, ExplainingProbe)
    assert snap_compare(app, terminal_size=(130, 48), run_before=run_before)


def test_vms_failed_start_explained(
    snap_compare: Any, make_app: Callable[..., Any], demo_env: Any, monkeypatch: Any
) -> None:
    """VMs of the demo with truenas selected: its state `shutoff · start failed` in red; below
    the table "Why truenas did not start", the top cause (title, code, % likely, subject) with
    the QEMU log's `group 8 is not viable` line as evidence and its remedy after →, then the
    other possible causes; the timeline below."""
    from tests.ui_cause_helpers import FAILED_START, with_qemu_log

    with_qemu_log(demo_env.root, "truenas", FAILED_START)

    async def run_before(pilot: Pilot[Any]) -> None:
        app: Any = pilot.app
        await settle(pilot, lambda: domains_loaded(pilot) and "truenas" in app.virt.failures)
        await pilot.press("v")  # the VMs screen
        await select_vm(pilot, "truenas")
        await settle(pilot, lambda: True)

    assert snap_compare(
        make_app(demo_env.root, demo_env.uri), terminal_size=(130, 40), run_before=run_before
    )
