"""Where the app's own workers' failures land, for real: a capture's unusable hypervisor
recording, a libvirtd that dies under the VM list, a VM action libvirt refuses; and the state
the VMs screen reads, which only the UI thread writes."""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message
from textual.worker import Worker, WorkerState

from tests.conftest import run_cli
from tests.test_ui_pilot import screen_text, until
from tests.virt_helpers import Domain, SessionDaemon, write_node
from workbench.commands.ui import ui_config
from workbench.core.errors import WorkbenchError
from workbench.ui.app import WorkbenchApp
from workbench.ui.screens.error import ErrorScreen, ui_frame
from workbench.ui.widgets.status_bar import StatusBar

CONNECTED = {"uri": "qemu:///system", "hypervisor": "QEMU", "libvirt_version": "10.0.0"}


def captured(make_root: Callable[..., Path], tmp_path: Path, connection: str | None) -> Path:
    """A real capture (`workbench capture --root`) of a machine whose libvirt/connection.json
    holds `connection` (None: no libvirt/ recording at all), with one recorded domain."""
    root = make_root("asrock-z170-gtx960")
    if connection is not None:
        lib = root / "libvirt"
        (lib / "domains").mkdir(parents=True)
        (lib / "connection.json").write_text(connection)
        (lib / "domains.json").write_text(json.dumps([{"name": "nas", "state": 5}]))
        (lib / "domains" / "nas.xml").write_text("<domain type='kvm'><name>nas</name></domain>")
    archive = tmp_path / "c.tar.gz"
    made = run_cli("capture", "--root", str(root), "-o", str(archive))
    assert made.returncode == 0, made.stderr
    return archive


@contextmanager
def app_on(archive: Path) -> Iterator[WorkbenchApp]:
    """The app `workbench open FILE` builds (its config from the CLI's own function)."""
    args = argparse.Namespace(capture=str(archive), demo=False, allow_actions=False)
    with ui_config(args) as config:
        config.owns_process = False  # the test's process, not the CLI's
        config.stable = True
        yield WorkbenchApp(config)


def node_uri(tmp_path: Path) -> str:
    """libvirt's test driver on a node file of its own (test:///default is one instance per
    process: a VM left paused there would leak into other tests): one VM, `test`, running."""
    return f"test://{write_node(tmp_path / 'node.xml', [Domain('test', running=True)])}"


def failed(seen: list[Message], group: str) -> BaseException:
    """The error of the one failed worker of `group`, as the app's handler received it."""
    [error] = [
        m.worker.error
        for m in seen
        if isinstance(m, Worker.StateChanged)
        and m.state is WorkerState.ERROR
        and m.worker.group == group
    ]
    assert error is not None
    return error


@pytest.mark.parametrize(
    ("connection", "problem", "remedy"),
    [
        ("garbage", "libvirt/connection.json is not valid JSON", "Capture the machine again"),
        (
            json.dumps({**CONNECTED, "error": {"error": "LIBVIRT_UNREACHABLE", "message": "gone"}}),
            "libvirt did not answer the capture (gone)",
            "Capture the machine again once libvirt answers",
        ),
    ],
    ids=["corrupt", "unreachable-when-captured"],
)
async def test_an_unusable_recording_is_a_toast_not_an_empty_vms_screen(
    make_root: Callable[..., Path], tmp_path: Path, connection: str, problem: str, remedy: str
) -> None:
    """A capture whose libvirt recording cannot be read: a toast names the problem and says to
    capture again; the VMs screen says the VMs were not recorded, never "0 VMs"; the chain ends
    in the recording's frame and the UI's."""
    with app_on(captured(make_root, tmp_path, connection)) as app:
        seen: list[Message] = []
        async with app.run_test(size=(120, 30), message_hook=seen.append) as pilot:
            await until(pilot, lambda: bool(app._notifications))
            [note] = list(app._notifications)
            assert note.title == "read the recorded hypervisor failed"
            assert str(note.message).startswith("VMs not recorded: ")
            assert problem in str(note.message) and f"→ {remedy}" in str(note.message)
            error = failed(seen, "virt:load")
            assert isinstance(error, WorkbenchError) and error.recoverable
            assert error.context == [
                "virt.recorded::list_domains",
                "ui::read_the_recorded_hypervisor",
            ]
            await pilot.press("v")
            await until(pilot, lambda: "VMs not recorded" in screen_text(app))
            shown = screen_text(app)
            assert "0 VMs" not in shown and "not recorded: this machine's VMs" in shown
            assert not isinstance(app.screen, ErrorScreen) and app.is_running


async def test_a_capture_without_a_recording_says_not_recorded(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A capture made without a hypervisor: no toast (nothing failed), and the VMs screen says
    the VMs were not recorded rather than that there are none."""
    with app_on(captured(make_root, tmp_path, None)) as app:
        seen: list[Message] = []
        async with app.run_test(size=(120, 30), message_hook=seen.append) as pilot:
            await until(pilot, lambda: app.virt.not_recorded)
            await pilot.press("v")
            await until(pilot, lambda: "VMs not recorded" in screen_text(app))
            assert "0 VMs" not in screen_text(app)
            assert not app._notifications


async def test_reading_the_vms_from_a_dead_daemon_is_a_toast(
    make_app: Callable[..., Any], make_root: Callable[..., Path], libvirtd: SessionDaemon
) -> None:
    """The session libvirtd dies; the app's own worker that reads the VMs' configurations
    fails: a toast titled with that worker says the daemon is not there, the app runs on, and
    the error's chain ends with the UI's frame."""
    node = write_node(libvirtd.base / "node.xml", [Domain("idle", running=False)])
    app = make_app(make_root("asrock-z170-gtx960"), libvirtd.uri(node))
    seen: list[Message] = []
    async with app.run_test(size=(120, 30), message_hook=seen.append) as pilot:
        await until(pilot, lambda: len(app.virt.domains) == 1)
        bar = app.screen.query_one(StatusBar)
        libvirtd.kill()
        await until(pilot, lambda: "reconnecting" in str(bar.render()))
        app.virt.load_domains()  # what the app runs on each (re)connection
        await until(pilot, lambda: bool(app._notifications))
        [note] = list(app._notifications)
        assert note.title == "read the VMs' configurations failed"
        assert "not connected" in str(note.message) and note.severity == "warning"
        error = failed(seen, "virt:load")
        assert isinstance(error, WorkbenchError)
        assert error.context[-1] == "ui::read_the_vms_configurations"
        assert all(f.startswith(("virt.", "ui::")) for f in error.context), error.context
        assert not isinstance(app.screen, ErrorScreen) and app.is_running


async def test_a_refused_vm_action_opens_the_error_screen_with_its_chain(
    make_app: Callable[..., Any], make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """s on a VM that already runs (libvirt's test driver): the error screen says the start
    failed, the VM is already running, and where: virt.actions::start, then the UI's frame;
    escape closes it and the VM still runs."""
    uri = node_uri(tmp_path)
    app = make_app(make_root("asrock-z170-gtx960"), uri, allow_actions=True)
    seen: list[Message] = []
    async with app.run_test(size=(120, 30), message_hook=seen.append) as pilot:
        await until(pilot, lambda: app.virt.state("test") == "running")
        await pilot.press("v")
        await pilot.pause()
        await pilot.press("s")  # start: but it runs
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen))
        await pilot.pause(0.2)
        rows = [line.strip(" █▌▐│") for line in screen_text(app).splitlines()]
        assert "start test failed" in rows
        assert any("VM_ALREADY_RUNNING" in r and "test is already running" in r for r in rows)
        where = next(i for i, r in enumerate(rows) if r.endswith("virt.actions::start"))
        assert rows[where + 1] == "ui::start_test"
        error = failed(seen, "vm:test")
        assert isinstance(error, WorkbenchError)
        assert error.context[-2:] == ["virt.actions::start", "ui::start_test"]
        causes: list[BaseException] = []  # a loop here hung the UI in rich's traceback
        while error is not None and error not in causes:
            causes.append(error)
            error = error.__cause__ or error.__context__
        assert error is None, causes
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ErrorScreen))
        assert app.virt.state("test") == "running"


async def test_the_vm_state_shown_changes_only_on_the_ui_thread(
    make_app: Callable[..., Any], make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A VM is suspended on another thread while the UI thread is held: the session's state
    machine has moved, the state and history the screens read have not; once the UI thread
    runs again, they follow (the same transitions, in order)."""
    from workbench.virt.actions import run_action

    uri = node_uri(tmp_path)
    app = make_app(make_root("asrock-z170-gtx960"), uri, allow_actions=True)
    seen: list[Message] = []
    async with app.run_test(size=(120, 30), message_hook=seen.append) as pilot:
        await until(pilot, lambda: app.virt.state("test") == "running")
        session = app.virt.session
        assert session is not None
        lifecycle = session.lifecycles.get("test")
        before = app.virt.history("test")
        # Held here: no await, so the UI thread handles no message until the suspend is done.
        worker = threading.Thread(
            target=lambda: run_action(
                uri, "suspend", "test", lifecycle=lifecycle, conn=session.connection()
            )
        )
        worker.start()
        worker.join(10)
        assert lifecycle.state == "paused"
        assert app.virt.state("test") == "running" and app.virt.history("test") == before
        await until(pilot, lambda: app.virt.state("test") == "paused")
        await until(pilot, lambda: app.virt.history("test") == list(lifecycle.history))


@pytest.mark.parametrize(
    ("name", "group", "frame"),
    [
        ("read the VMs' configurations", "virt:load", "ui::read_the_vms_configurations"),
        ("start win11", "vm:win11", "ui::start_win11"),
        ("", "virt:load", "ui::virt_load"),
        ("[b]…\x1b[2J", "", "ui::b_2j"),
        ("", "", "ui::worker"),
    ],
)
def test_the_ui_frame_names_the_worker(name: str, group: str, frame: str) -> None:
    """The UI's frame is the worker's name in snake_case, else its group's; never markup."""
    assert ui_frame(name, group) == frame
