"""The VMs screen on a sosreport that holds a domain's definition but not its state."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import DataTable


async def test_a_state_not_recorded_is_said_so(
    make_app: Callable[..., Any], tmp_path: Path
) -> None:
    """A defined domain whose state the report does not hold shows "not recorded", never
    libvirt's "nostate" or "shutoff"."""
    from tests.test_ui_view_picker import until
    from workbench.target import open_target

    top = tmp_path / "sosreport-h-1"
    (top / "sos_commands/kernel").mkdir(parents=True)
    (top / "version.txt").write_text("sosreport: 4.5.6\n")
    (top / "etc/libvirt/qemu").mkdir(parents=True)
    (top / "etc/libvirt/qemu/w.xml").write_text(
        "<domain type='kvm'><name>w</name><memory>1048576</memory>"
        "<os><type>hvm</type></os><devices></devices></domain>"
    )
    with open_target(sos=top) as target:
        app = make_app(target.host.root, None, local_log=True)
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: len(app.virt.domains) == 1)
            assert app.virt.state("w") == "not recorded"
            await pilot.press("v")
            await until(pilot, lambda: app.screen.query(DataTable))
            table = app.screen.query_one("#domains", DataTable)
            await until(pilot, lambda: table.row_count == 1)
            assert "not recorded" in str(table.get_row_at(0)[1])
