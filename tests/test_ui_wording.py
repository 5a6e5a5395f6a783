"""What the workbench says about VM actions: force off (not destroy), confirms that say what
they do, no shutdown offered to a VM already off, requests named in the timeline, zoned times."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.widgets import DataTable

from tests.conftest import run_cli
from tests.test_ui_pilot import screen_text, until
from workbench.ui.screens.modals import ConfirmScreen


async def open_vms(pilot: Any, app: Any, vm: str) -> None:
    """The VMs screen with `vm` selected."""
    await until(pilot, lambda: len(app.virt.domains) == 4)
    await pilot.press("v")
    await pilot.pause()
    table = app.screen.query_one("#domains", DataTable)
    table.move_cursor(row=table.get_row_index(vm))
    await pilot.pause()


async def test_confirms_say_what_they_do(make_app: Callable[..., Any], demo_env: Any) -> None:
    """Shutdown asks without claiming it cannot be undone; force off says it loses the guest's
    unsaved state and cannot be undone; neither says 'destroy'."""
    app = make_app(demo_env.root, demo_env.uri, allow_actions=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_vms(pilot, app, "ubuntu-dev")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        shown = screen_text(app)
        assert "Shut down ubuntu-dev?" in shown and "cannot be undone" not in shown
        await pilot.press("n")
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        shown = " ".join(screen_text(app).split())  # the question wraps in the dialog
        assert "Force off ubuntu-dev?" in shown and "cannot be undone" in shown, shown
        assert "destroy" not in shown.lower()
        await pilot.press("n")
        await pilot.pause(0.2)
        assert app.virt.state("ubuntu-dev") == "running"


async def test_a_shut_off_vm_is_not_offered_shutdown(
    make_app: Callable[..., Any], demo_env: Any
) -> None:
    """On a shut-off VM the footer offers no shutdown; d and D ask nothing and say it is already
    off; start is offered."""
    app = make_app(demo_env.root, demo_env.uri, allow_actions=True)
    async with app.run_test(size=(160, 30)) as pilot:
        await open_vms(pilot, app, "truenas")
        footer = screen_text(app).splitlines()[-1]
        assert "Start" in footer and "Shutdown" not in footer
        for key in ("d", "D"):
            await pilot.press(key)
            await pilot.pause(0.2)
            assert not isinstance(app.screen, ConfirmScreen)
        notes = [str(n.message) for n in app._notifications]
        assert notes and all("truenas is already off" in n for n in notes), notes
        await open_vms(pilot, app, "ubuntu-dev")
        assert "Shutdown" in screen_text(app).splitlines()[-1]


async def test_the_timeline_names_requests(make_app: Callable[..., Any], demo_env: Any) -> None:
    """A shutdown asked for is 'shutdown requested' in the timeline, not 'running → running';
    the effect follows as a transition."""
    app = make_app(demo_env.root, demo_env.uri, allow_actions=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_vms(pilot, app, "ubuntu-dev")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: app.virt.state("ubuntu-dev") == "shutoff")
        await pilot.pause(0.3)
        shown = screen_text(app)
        assert "shutdown requested" in shown
        assert "running → running" not in shown


@pytest.fixture
def zone() -> Iterator[Callable[[str], None]]:
    """Set the process's local time zone for a test (TZ), restored afterwards."""
    import os

    before = os.environ.get("TZ")

    def set_zone(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield set_zone
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.mark.parametrize(
    ("tz", "stamp", "shown"),
    [
        ("UTC", "2026-11-29T08:00:05.123Z", "08:00:05 UTC"),
        ("Europe/Berlin", "2026-11-29T08:00:05.123Z", "09:00:05 CET"),
        ("America/New_York", "2026-07-01T12:30:00.000Z", "08:30:00 EDT"),
        ("UTC", "not a time", "not a time"),
    ],
)
def test_timeline_times_carry_their_zone(
    zone: Callable[[str], None], tz: str, stamp: str, shown: str
) -> None:
    """A transition's time is local time with its zone (a bare 08:00 read as local was wrong by
    hours); what is not a time is shown as it is."""
    from workbench.ui.screens.vms import clock

    zone(tz)
    assert clock(stamp) == shown


def test_vm_help_says_force_off() -> None:
    """`workbench vm --help` offers force-off, not destroy."""
    out = run_cli("vm", "--help")
    assert out.returncode == 0
    assert "force-off" in out.stdout and "destroy" not in out.stdout


@pytest.mark.parametrize("verb", ["force-off", "destroy"])
def test_force_off_and_its_old_name_work(verb: str) -> None:
    """`workbench vm force-off` turns a VM off; `destroy` is still accepted for scripts."""
    out = run_cli("vm", verb, "test", "--connect", "test:///default")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "force-off test: done"


async def test_force_off_reads_force_off_in_the_timeline(
    make_app: Callable[..., Any], demo_env: Any
) -> None:
    """D then y: the timeline says 'force off requested', then the move to shutoff, caused by
    the operator's force off or by libvirt's event (whichever came first), in those words; the
    word 'destroy' (libvirt's) appears nowhere on screen."""
    app = make_app(demo_env.root, demo_env.uri, allow_actions=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_vms(pilot, app, "ubuntu-dev")
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: app.virt.state("ubuntu-dev") == "shutoff")
        await pilot.pause(0.3)
        shown = screen_text(app)
        assert "force off requested" in shown
        assert "operator: force off" in shown or "stopped: forced off" in shown
        assert "destroy" not in shown.lower()


def test_libvirt_event_details_say_forced_off() -> None:
    """A VM destroyed outside the workbench (virsh destroy) reads 'stopped: forced off'."""
    from workbench.ui.screens.vms import worded

    assert worded("stopped: destroyed") == "stopped: forced off"
    assert worded("stopped: shutdown") == "stopped: shutdown"


async def test_the_footer_follows_the_selected_vms_state(
    make_app: Callable[..., Any], demo_env: Any
) -> None:
    """When the selected VM goes off under the operator's eyes, the footer stops offering its
    shutdown."""
    app = make_app(demo_env.root, demo_env.uri, allow_actions=True)
    async with app.run_test(size=(160, 30)) as pilot:
        await open_vms(pilot, app, "ubuntu-dev")
        assert "Shutdown" in screen_text(app).splitlines()[-1]
        await pilot.press("D")  # force off, confirmed
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: app.virt.state("ubuntu-dev") == "shutoff")
        await until(pilot, lambda: "Shutdown" not in screen_text(app).splitlines()[-1])
