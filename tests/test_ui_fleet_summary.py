"""The fleet TUI on the demo fleet at 80x24: the machine column stays when the table is
scrolled right, the shared "failing probes" / "causes" groups are shown with the text table's
words, and `?` opens the help of its keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from tests.test_ui_pilot import screen_text
from tests.test_ui_snapshots import settle
from workbench.fleet.table import render_fleet
from workbench.ui.fleet.app import FleetApp
from workbench.ui.screens.help import HelpScreen


@pytest.fixture(scope="module")
def demo_fleet(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The demo fleet, probed for real from its sosreports (built in a private cache)."""
    from workbench.demo_sos import cached_fleet
    from workbench.fleet.discover import discover
    from workbench.fleet.run import run_fleet

    tmp = tmp_path_factory.mktemp("fleet")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp / "cache"))
        entries, problems = discover([cached_fleet()], tmp)
        assert not problems
        return run_fleet(entries, 2, None, Path(tmp))


async def test_the_machine_column_stays_when_scrolled_right(demo_fleet: Any) -> None:
    """Scrolled to the last column, every machine's name is still on screen."""
    app = FleetApp(demo_fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one("#fleet", DataTable)
        await settle(pilot, lambda: table.row_count == len(demo_fleet.machines))
        assert table.max_scroll_x > 0  # the probes do not fit in 80 columns
        table.scroll_to(x=table.max_scroll_x, animate=False)
        await settle(pilot, lambda: table.scroll_x == table.max_scroll_x)
        shown = screen_text(app)
        assert "causes" in shown  # the last column is in view
        for machine in demo_fleet.machines:
            assert machine.name[:12] in shown, machine.name


async def test_shared_failures_and_causes_in_the_tui(demo_fleet: Any) -> None:
    """The text table's "failing probes:" and "causes:" lines are on screen, the cause two
    machines share among them."""
    text = render_fleet(demo_fleet)
    wanted = [
        line.strip()
        for line in text.splitlines()
        if line.startswith("  ") and ("GROUP_MEMBER_NOT_VFIO" in line or "vm.preflight" in line)
    ]
    assert wanted and "failing probes:" in text and "causes:" in text
    app = FleetApp(demo_fleet)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, lambda: True)
        shown = screen_text(app)
        assert "failing probes:" in shown and "causes:" in shown
        for line in wanted:
            assert line in shown, line


async def test_question_mark_opens_the_fleets_help(demo_fleet: Any) -> None:
    """`?` opens a help naming enter (open a machine) and q; escape closes it."""
    app = FleetApp(demo_fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: True)
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        shown = screen_text(app)
        assert "Fleet — keys" in shown and "Open workbench" in shown and "Quit" in shown
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, HelpScreen))
        assert app.is_running
