"""The fleet in the TUI: the table of machines x probes (glyphs), enter opening a machine's
workbench in a worker (read only), escape back; one snapshot."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Static

from workbench.fleet.model import Fleet, FleetEntry, FleetMachine
from workbench.fleet.run import probe_entry
from workbench.ui.fleet.app import FleetApp
from workbench.ui.fleet.machine import FleetWorkbenchApp

HOSTILE = "\x1b[31mred[/b]"


def _fleet(make_root: Callable[..., Path]) -> Fleet:
    """Two machines probed for real (machine roots from ../shared/hosts), fixed names."""
    machines = []
    for name, host in (("gtx960", "asrock-z170-gtx960"), ("gt1030", "asokolsky-duo-z370-gt1030")):
        machine = probe_entry(FleetEntry(name, str(make_root(host)), "root"))
        machine.name = name
        machines.append(machine)
    machines.append(FleetMachine("broken", "/nowhere.tar.gz", "capture", error={"message": "x"}))
    return Fleet(machines, ["junk.txt: neither a capture nor a sosreport"])


async def _until(pilot: Any, done: Callable[[], bool]) -> None:
    for _ in range(200):
        if done():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


@pytest.mark.asyncio
async def test_table_has_a_row_per_machine_and_glyphs(make_root: Callable[..., Path]) -> None:
    """A row per machine, a column per probe, each cell the status glyph of that machine."""
    fleet = _fleet(make_root)
    app = FleetApp(fleet)
    async with app.run_test(size=(160, 30)):
        table = app.query_one("#fleet", DataTable)
        assert table.row_count == 3
        probes = list(fleet.machines[0].statuses)
        assert len(table.columns) == len(probes) + 2
        cell = table.get_cell("0", "pci.gpus")
        assert str(cell) == {"pass": "✔", "warn": "!", "fail": "✘"}.get(
            fleet.machines[0].statuses["pci.gpus"], str(cell)
        )


@pytest.mark.asyncio
async def test_enter_opens_in_a_worker(make_root: Callable[..., Path]) -> None:
    """Enter opens the machine under the cursor off the UI thread; the app exits holding its
    read-only workbench config."""
    fleet = _fleet(make_root)
    app = FleetApp(fleet)
    seen: list[str] = []
    from workbench.ui.fleet import app as fleet_app

    real = fleet_app.open_machine

    def spy(machine: FleetMachine) -> Any:
        seen.append(threading.current_thread().name)
        return real(machine)

    fleet_app.open_machine = spy  # type: ignore[assignment]
    try:
        async with app.run_test(size=(160, 30)) as pilot:
            await pilot.press("down")
            await pilot.press("enter")
            await _until(pilot, lambda: app.opened is not None)
    finally:
        fleet_app.open_machine = real  # type: ignore[assignment]
    assert app.opened is not None
    with app.opened.stack:
        assert app.opened.machine.name == "gt1030"
        assert app.opened.config.allow_actions is False
        assert Path(app.opened.config.root) == Path(fleet.machines[1].source)
    assert seen and seen[0] != threading.main_thread().name
    assert app.cursor == 1


@pytest.mark.asyncio
async def test_machine_not_opened_says_so(make_root: Callable[..., Path]) -> None:
    """Enter on a machine that could not be opened: a notice, the table stays."""
    app = FleetApp(_fleet(make_root), cursor=2)
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.opened is None and app.is_running


@pytest.mark.asyncio
async def test_hostile_name_is_text(make_root: Callable[..., Path]) -> None:
    """A machine name with an escape sequence and markup is shown escaped, as text."""
    fleet = _fleet(make_root)
    fleet.machines[0].name = HOSTILE
    app = FleetApp(fleet)
    async with app.run_test(size=(160, 30)) as pilot:
        cell = app.query_one("#fleet", DataTable).get_cell("0", "machine")
        assert "\x1b" not in str(cell) and "[/b]" in str(cell)
        await pilot.pause(0.1)
        shown = str(app.query_one("#fleet-status", Static).render())
        assert "\x1b" not in shown and "\\x1b[31mred[/b]" in shown


@pytest.mark.asyncio
async def test_escape_returns_to_the_fleet(make_root: Callable[..., Path]) -> None:
    """In a machine's workbench opened from the fleet, escape ends it (back to the table)."""
    from workbench.ui.fleet.app import open_machine

    fleet = _fleet(make_root)
    opened = open_machine(fleet.machines[0])
    with opened.stack:
        app = FleetWorkbenchApp(opened.config)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.3)
            await pilot.press("escape")
            await pilot.pause(0.3)
            assert not app.is_running


def test_fleet_snapshot(snap_compare: Any, make_root: Callable[..., Path]) -> None:
    """The fleet table of two real machines and one that could not be opened (no path is
    shown: the random roots do not reach the picture)."""
    fleet = _fleet(make_root)
    for machine in fleet.machines:
        machine.source = f"/srv/captures/{machine.name}"  # the random roots stay out of it
    app = FleetApp(fleet)
    assert snap_compare(app, terminal_size=(160, 20))
