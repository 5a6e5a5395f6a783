"""The workbench's VMs screen on two real session libvirtds (repeated --connect)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest
from textual.widgets import DataTable

from tests.test_ui_pilot import until
from tests.virt_helpers import LIBVIRTD, SessionDaemon
from workbench.ui.virtmany import vm_key
from workbench.ui.widgets.status_bar import StatusBar
from workbench.virt.connection import open_connection


@pytest.fixture
def daemons() -> Iterator[tuple[SessionDaemon, str, str]]:
    """Two real session libvirtds (own XDG_RUNTIME_DIRs and sockets), both serving the test
    driver's shared default node: each has a VM named `test`."""
    if not Path(LIBVIRTD).exists():
        pytest.skip("libvirtd not installed (make setup installs libvirt-daemon)")
    first, second = SessionDaemon(), SessionDaemon()
    try:
        first.start()
        second.start()
        yield (
            first,
            f"test+unix:///default?socket={first.socket}",
            f"test+unix:///default?socket={second.socket}",
        )
    finally:
        first.close()
        second.close()


def _state(uri: str, name: str) -> int:
    conn = open_connection(uri, readonly=True)
    try:
        return int(conn.lookupByName(name).state()[0])
    finally:
        conn.close()


def _resume(uri: str, name: str) -> None:
    conn = open_connection(uri, readonly=False)
    try:
        conn.lookupByName(name).resume()
    finally:
        conn.close()


async def test_two_hypervisors_one_table_actions_to_the_vms_own(
    make_app: Callable[..., Any],
    make_root: Callable[..., Path],
    minimal_facts: dict[str, Any],
    daemons: tuple[SessionDaemon, str, str],
) -> None:
    """Both daemons' VMs in one table with a Hypervisor column; suspending B's `test` reaches
    B only; A killed: B's events still arrive while A reconnects; A back: connected again."""
    daemon_a, uri_a, uri_b = daemons
    app = make_app(make_root(minimal_facts), uri_a, connects=[uri_a, uri_b], allow_actions=True)
    key_a, key_b = vm_key(uri_a, "test"), vm_key(uri_b, "test")
    async with app.run_test(size=(160, 30)) as pilot:
        await until(pilot, lambda: len(app.virt.domains) == 2, 20)
        await pilot.press("v")
        await until(pilot, lambda: app.screen.query(DataTable).first().row_count == 2)
        table = app.screen.query_one("#domains", DataTable)
        assert [c.label.plain for c in table.columns.values()][:2] == ["VM", "Hypervisor"]
        row = table.get_row(key_b)
        assert (row[0].plain, row[1].plain) == ("test", uri_b)
        table.move_cursor(row=table.get_row_index(key_b))
        await pilot.press("p")  # suspend: B's `test`, never A's
        await until(pilot, lambda: app.virt.state(key_b) == "paused", 20)
        assert _state(uri_a, "test") == libvirt.VIR_DOMAIN_RUNNING
        assert app.virt.state(key_a) == "running"
        daemon_a.kill()
        bar = app.screen.query_one(StatusBar)
        await until(pilot, lambda: "reconnecting" in str(bar.render()), 20)
        assert "(1 of 2 hypervisors connected)" in str(bar.render())
        _resume(uri_b, "test")  # while A is down
        await until(pilot, lambda: app.virt.state(key_b) == "running", 20)
        assert app.virt.connection is not None
        assert app.virt.connection.get("connection") != "connected"  # A still retrying
        daemon_a.start()
        await until(pilot, lambda: "libvirt: connected" in str(bar.render()), 30)
        assert "(2 of 2 hypervisors connected)" in str(bar.render())
