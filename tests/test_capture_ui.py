"""`workbench open FILE`: the workbench on a capture, as on the machine it came from."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from tests.conftest import WORKBENCH
from workbench.capture.collectors import LOG_MEMBER
from workbench.commands.ui import ui_config
from workbench.demo import demo_environment
from workbench.ui.app import WorkbenchApp
from workbench.ui.widgets.log_view import LogView
from workbench.ui.widgets.status_bar import connection_text


async def until(pilot: Any, predicate: Any, timeout_s: float = 15) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        assert loop.time() < deadline, "condition not reached"
        await pilot.pause(0.05)


@pytest.fixture
def demo_capture(tmp_path: Path) -> Path:
    """A capture of the demo machine and its hypervisor, with five errors in its own log."""
    archive = tmp_path / "demo.tar.gz"
    with demo_environment(tmp_path / "demo") as env:
        log = env.root / LOG_MEMBER  # a recorded root brings its own log, never the analyst's
        log.parent.mkdir(exist_ok=True)  # the demo root records its kernel log there too
        log.write_text(
            "".join(
                json.dumps({"level": "error", "event": f"vm broke {n}"}) + "\n" for n in range(5)
            )
        )
        argv = ["capture", "--root", str(env.root), "--connect", env.uri, "-o", str(archive)]
        made = subprocess.run(
            [str(WORKBENCH), *argv],
            capture_output=True,
            text=True,
            check=False,
        )
        assert made.returncode == 0, made.stderr
    return archive


async def test_the_workbench_on_a_capture_of_the_demo(demo_capture: Path) -> None:
    """Probes judged from the capture, libvirt 'recorded', the VMs with their recorded states
    and passthrough, the captured log in the log view."""
    archive = demo_capture
    args = argparse.Namespace(capture=str(archive), demo=False, allow_actions=False)
    with ui_config(args) as config:
        root = Path(config.root)
        assert config.owns_process  # the CLI's app; not this test's process:
        config.owns_process = False
        app = WorkbenchApp(config)
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: app.probes.report is not None)
            statuses = {p.id: p.status for p in app.probes.report.probes}  # type: ignore[union-attr]
            assert statuses["libvirt.connection"] == "pass"
            assert statuses["pci.gpus"] == "pass"
            assert "recorded" in app.probes.results["libvirt.connection"].summary
            await until(pilot, lambda: len(app.virt.domains) == 4)
            assert "recorded" in connection_text(app)
            await pilot.press("v")
            await pilot.pause()
            table = app.screen.query_one("#domains", DataTable)
            rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
            win = next(r for r in rows if r[0] == "win11-gaming")
            assert "running" in win[1] and "0000:01:00.0" in win[2]
            nas = next(r for r in rows if r[0] == "truenas")
            assert "shutoff" in nas[1]
            await pilot.press("s")  # start: there is nothing live to start
            await pilot.pause()
            said = [str(n.message) for n in app._notifications]
            assert any("recorded machine" in m for m in said), said
            await pilot.press("l", "enter")  # picker: our log alone
            view = app.screen.query_one(LogView)
            # The capture's own run logged too (its agent probe): the five errors come first.
            await until(pilot, lambda: view._count() >= 5)
            index = app.watchers.log_index
            assert index is not None and Path(index.path).is_relative_to(root)
            events = [index.record(n).fields.get("event") for n in range(5)]
            assert events == [f"vm broke {n}" for n in range(5)]
            assert "Workbench — capture demo.tar.gz" in app.title
