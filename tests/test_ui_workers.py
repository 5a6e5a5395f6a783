"""The workbench's workers: failures land in the UI, actions run one at a time per VM, PCI
re-judges are coalesced and stale results dropped, the log filter follows a growing log."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message

from tests.test_ui_pilot import HOSTILE, SHOWN, screen_text, until
from tests.virt_helpers import Domain, SessionDaemon, _children, write_node
from workbench.core.errors import LibvirtError
from workbench.core.host import Host
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Outcome
from workbench.ui.messages import HardwareChanged, ProbeFinished, ProbesDone
from workbench.ui.screens.base import WorkbenchScreen
from workbench.ui.screens.details import DetailsScreen
from workbench.ui.screens.error import ErrorScreen
from workbench.ui.screens.logs import LogsScreen
from workbench.ui.screens.overview import OverviewScreen
from workbench.ui.screens.vms import VmsScreen
from workbench.ui.widgets.log_view import LogView


def read_cpuinfo_of(root: Path) -> Callable[[], object]:
    """The CPU probe's own read of proc/cpuinfo (it fails when the file is missing)."""
    from probes.cpu import read_cpuinfo

    return lambda: read_cpuinfo(Host(root))


async def test_a_failing_worker_shows_the_error_screen(
    make_app: Callable[..., Any], make_root: Callable[..., Path]
) -> None:
    """A worker that raises a non-recoverable WorkbenchError (a missing cpuinfo) opens the error
    screen with its code, message and remedy; the app keeps running; escape closes it."""
    root = make_root("asrock-z170-gtx960")
    (root / "proc/cpuinfo").unlink()
    app = make_app(root)
    async with app.run_test(size=(120, 30)) as pilot:
        app.run_worker(read_cpuinfo_of(root), name="read the CPU", thread=True, exit_on_error=False)
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen))
        await pilot.pause(0.2)
        shown = screen_text(app)
        assert "read the CPU failed" in shown and "HOST_READ_ERROR" in shown
        assert "proc/cpuinfo" in shown and "remedy  Check that the machine root" in shown
        assert "where   core.host::read_text" in shown and "ui::read_the_cpu" in shown
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ErrorScreen))
        assert app.is_running


async def test_a_recoverable_error_is_a_toast(
    make_app: Callable[..., Any], make_root: Callable[..., Path]
) -> None:
    """A recoverable WorkbenchError (the hypervisor did not answer) is a toast with message and
    remedy, titled with what failed; no error screen, the app keeps running."""

    def unreachable() -> None:
        raise LibvirtError("the hypervisor did not answer", remedy="Start libvirtd.")

    app = make_app(make_root("asrock-z170-gtx960"))
    async with app.run_test(size=(120, 30)) as pilot:
        app.run_worker(unreachable, name="read the VMs", thread=True, exit_on_error=False)
        await until(pilot, lambda: bool(app._notifications))
        [note] = list(app._notifications)
        assert note.title == "read the VMs failed"
        assert note.message == "the hypervisor did not answer\n→ Start libvirtd."
        assert not isinstance(app.screen, ErrorScreen) and app.is_running


async def test_a_bug_in_a_worker_is_shown_literally_not_crashing(
    make_app: Callable[..., Any], make_root: Callable[..., Path]
) -> None:
    """Any other exception (a bug) opens the error screen with the bug remedy; markup and
    escape sequences in its text are shown as text; a URI's password is masked."""

    def buggy() -> None:
        raise RuntimeError(f"boom {HOSTILE} qemu+tcp://admin:s3cret@h/system")

    app = make_app(make_root("asrock-z170-gtx960"))
    async with app.run_test(size=(160, 30)) as pilot:
        app.run_worker(buggy, name="a worker", thread=True, exit_on_error=False)
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen))
        await pilot.pause(0.2)
        shown = screen_text(app)
        assert f"boom {SHOWN}" in shown and "\x1b" not in shown
        assert "s3cret" not in shown and "admin:***@h" in shown
        assert "a bug in the workbench" in shown and "where   ui::a_worker" in shown
        assert app.is_running


async def test_two_presses_of_start_start_once(
    make_app: Callable[..., Any], make_root: Callable[..., Path], libvirtd: SessionDaemon
) -> None:
    """s twice while the first start is still under way (the daemon stopped mid-call): the
    second is refused with a notice; once the daemon goes on, the VM is started exactly once."""
    node = write_node(libvirtd.base / "node.xml", [Domain("idle", running=False)])
    app = make_app(make_root("asrock-z170-gtx960"), libvirtd.uri(node), allow_actions=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(
            pilot, lambda: len(app.virt.domains) == 1 and app.virt.state("idle") == "shutoff"
        )
        await pilot.press("v")
        await pilot.pause()
        assert libvirtd.proc is not None
        daemons = _children(libvirtd.proc.pid) or [libvirtd.proc.pid]
        for pid in daemons:
            os.kill(pid, signal.SIGSTOP)  # the first start hangs in its call
        try:
            await pilot.press("s")
            await until(pilot, lambda: app.virt.busy("idle"))
            await pilot.press("s")
            await pilot.pause(0.2)
        finally:
            for pid in daemons:
                os.kill(pid, signal.SIGCONT)
        await until(pilot, lambda: app.virt.state("idle") == "running")
        await until(pilot, lambda: not app.virt.busy("idle"))
        notes = [str(n.message) for n in app._notifications]
        assert any("still under way" in n for n in notes), notes
        requested = [t for t in app.virt.history("idle") if "start requested" in (t.detail or "")]
        assert len(requested) == 1, app.virt.history("idle")
        assert not any("failed" in str(n.title) for n in app._notifications), notes


async def test_a_burst_of_udev_events_is_one_rejudge(
    make_app: Callable[..., Any], make_root: Callable[..., Path]
) -> None:
    """Five hardware changes in a burst, 50 ms apart (as a rebind sends them), are judged once:
    one partial run of the PCI probes, not five."""
    seen: list[Message] = []
    app = make_app(make_root("asrock-z170-gtx960"))
    async with app.run_test(message_hook=seen.append) as pilot:
        await until(pilot, lambda: app.probes.report is not None)
        for action in ("unbind", "change", "bind", "change", "add"):
            app.post_message(HardwareChanged(action, "0000:01:00.0", "vfio-pci"))
            await pilot.pause(0.05)
        partial = lambda: [  # noqa: E731
            m for m in seen if isinstance(m, ProbesDone) and m.report.get("pci.gpus") and m.run > 1
        ]
        await until(pilot, lambda: bool(partial()))
        await pilot.pause(1.0)  # time for any further run to show
        assert len(partial()) == 1
        assert len(partial()[0].report.probes) < len(app.probes.classes)


class SlowProbe(Probe):
    """A probe whose first run blocks until the test releases it (a slow real run); every
    later run answers at once. Each verdict names its run."""

    id = "test.slow"
    title = "Slow test probe"
    release = threading.Event()
    calls = 0

    def run(self, ctx: ProbeContext) -> Outcome:
        cls = type(self)
        cls.calls += 1
        call = cls.calls
        if call == 1:
            cls.release.wait(10)
        return Outcome("pass" if call > 1 else "fail", f"verdict of call {call}")


async def test_a_stale_result_is_dropped(
    make_app: Callable[..., Any], make_root: Callable[..., Path]
) -> None:
    """A slow run of a probe finishes after a newer one (r on its details screen): the late,
    older verdict is dropped; the newer stays in the results and on the details screen."""
    seen: list[Message] = []
    SlowProbe.release.clear()
    SlowProbe.calls = 0
    app = make_app(make_root("asrock-z170-gtx960"))
    app.probes.classes = [SlowProbe]  # what the app runs: this probe only
    try:
        async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
            await until(pilot, lambda: SlowProbe.calls == 1)  # the first run, held
            app.show_details("test.slow")
            await pilot.pause()
            await pilot.press("r")  # retry now: a newer run, which answers at once
            await until(pilot, lambda: "test.slow" in app.probes.results)
            newer = app.probes.results["test.slow"]
            assert newer.summary == "verdict of call 2"
            SlowProbe.release.set()  # the first run finishes, late
            await until(pilot, lambda: app.probes.report is not None)
            late = [m for m in seen if isinstance(m, ProbeFinished) and m.run == 1]
            assert [m.result.summary for m in late] == ["verdict of call 1"]
            await pilot.pause(0.3)
            assert app.probes.results["test.slow"] is newer
            assert app.probes.report is not None and app.probes.report.get("test.slow") is newer
            shown = screen_text(app)
            assert "verdict of call 2" in shown and "verdict of call 1" not in shown
    finally:
        SlowProbe.release.set()


async def test_a_result_arriving_as_the_details_screen_opens_does_not_crash(
    make_app: Callable[..., Any], make_root: Callable[..., Path]
) -> None:
    """A probe's result routed in the same tick as its details screen is pushed (Enter while
    the run still reports): the screen shows it once built; the app does not die on a screen
    with no widgets yet."""
    app = make_app(make_root("asrock-z170-gtx960"))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.probes.report is not None)
        result = app.probes.results["cpu.virtualization"]
        app.show_details(result.id)
        app.post_message(ProbeFinished(result, app.probes._full_run))
        await pilot.pause(0.3)
        assert app.is_running and app.return_code is None
        assert isinstance(app.screen, DetailsScreen)
        assert result.summary in screen_text(app)


async def test_the_details_screen_reads_results_that_came_while_a_popup_was_on_top(
    make_app: Callable[..., Any], make_root: Callable[..., Path]
) -> None:
    """A result routed while help covers the details screen reaches no screen; closing help
    shows it (the screen reads afresh when it is back on top)."""
    from dataclasses import replace

    app = make_app(make_root("asrock-z170-gtx960"))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.probes.report is not None)
        result = app.probes.results["cpu.virtualization"]
        app.show_details(result.id)
        await pilot.pause(0.2)
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        newer = replace(result, summary="a verdict that came while help was open")
        app.post_message(ProbeFinished(newer, app.probes._full_run))
        await pilot.pause(0.2)
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert isinstance(app.screen, DetailsScreen)
        assert "a verdict that came while help was open" in screen_text(app)


def log_lines(start: int, count: int, every_error: int) -> str:
    """JSON-lines records `start`.., every `every_error`-th an error, the rest info."""
    return "".join(
        json.dumps(
            {
                "timestamp": f"2026-11-22T11:00:{n % 60:02d}Z",
                "level": "error" if n % every_error == 0 else "info",
                "event": f"line {n}",
            }
        )
        + "\n"
        for n in range(start, start + count)
    )


async def test_the_filter_reads_only_new_lines_as_the_log_grows(
    make_app: Callable[..., Any], make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """Filtered to errors, a real log file grows by 20 lines: the 5 new errors appear, and the
    filter examined only the 20 new lines, not the whole log again."""
    log = tmp_path / "growing.log"
    log.write_text(log_lines(0, 40, 4))
    app = make_app(make_root("asrock-z170-gtx960"), log_path=log)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("l", "enter")  # picker: our log alone
        screen = app.screen
        view = screen.query_one(LogView)
        await until(pilot, lambda: view._count() == 40)
        await pilot.press("e")
        await until(pilot, lambda: view.rows is not None and view._count() == 10)
        assert screen.scanned == 40
        with log.open("a") as out:
            out.write(log_lines(40, 20, 4))
        await until(pilot, lambda: view._count() == 15)
        assert screen.scanned == 60
        assert view.rows == list(range(0, 60, 4))


async def test_a_new_filter_cancels_the_running_one(
    make_app: Callable[..., Any], make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """Errors only, then at once a search, on a long log: the errors-only pass is cancelled
    (its result never shown), and the view holds what the second filter matches."""
    log = tmp_path / "long.log"
    log.write_text(log_lines(0, 60_000, 3))
    app = make_app(make_root("asrock-z170-gtx960"), log_path=log)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("l", "enter")  # picker: our log alone
        screen = app.screen
        view = screen.query_one(LogView)
        await until(pilot, lambda: view._count() == 60_000, 60)
        screen.action_level("error")  # e
        screen.pattern = '"line 1[0-9]"'
        screen.apply_filter()  # the operator's search, while the errors pass runs
        expected = [n for n in range(10, 20) if n % 3 == 0]
        await until(pilot, lambda: view.rows == expected, 60)
        await pilot.pause(0.3)
        assert view.rows == expected
        assert screen.scanned == 60_000  # the cancelled pass reported nothing


async def test_leaving_cancels_a_running_action(
    make_app: Callable[..., Any], make_root: Callable[..., Path], libvirtd: SessionDaemon
) -> None:
    """The workbench quits while a start hangs (the daemon stopped): the action's worker is
    cancelled and its retries told to stop; the quit does not wait for the daemon."""
    from textual.worker import WorkerState

    node = write_node(libvirtd.base / "node.xml", [Domain("idle", running=False)])
    app = make_app(make_root("asrock-z170-gtx960"), libvirtd.uri(node), allow_actions=True)
    assert libvirtd.proc is not None
    daemons: list[int] = []
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.virt.state("idle") == "shutoff")
            await pilot.press("v")
            await pilot.pause()
            daemons = _children(libvirtd.proc.pid) or [libvirtd.proc.pid]
            for pid in daemons:
                os.kill(pid, signal.SIGSTOP)
            await pilot.press("s")
            await until(pilot, lambda: app.virt.busy("idle"))
            [worker] = [w for w in app.workers if w.group == "vm:idle"]
        assert worker.state is WorkerState.CANCELLED
        assert app.virt._cancel.cancelled
    finally:
        for pid in daemons:
            os.kill(pid, signal.SIGCONT)


async def test_the_filter_starts_again_when_the_log_is_truncated(
    make_app: Callable[..., Any], make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """Filtered to errors, the log is truncated and written again (copytruncate): the view
    holds the new file's errors only, not line numbers of the old one."""
    log = tmp_path / "rotated.log"
    log.write_text(log_lines(0, 40, 4))
    app = make_app(make_root("asrock-z170-gtx960"), log_path=log)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("l", "enter")  # picker: our log alone
        view = app.screen.query_one(LogView)
        await until(pilot, lambda: view._count() == 40)
        await pilot.press("e")
        await until(pilot, lambda: view.rows is not None and view._count() == 10)
        log.write_text(log_lines(0, 8, 4))  # shorter than before: a truncation
        await until(pilot, lambda: view.rows == [0, 4])
        await pilot.pause(0.3)
        assert view.rows == [0, 4] and app.is_running


@pytest.mark.parametrize("screen", [OverviewScreen, DetailsScreen, VmsScreen, LogsScreen])
def test_every_followed_message_has_its_handler(screen: type[WorkbenchScreen]) -> None:
    """The app hands each StateChange a screen follows to its on_* handler: each one exists."""
    assert screen.FOLLOWS
    for message in screen.FOLLOWS:
        assert callable(getattr(screen, message.handler_name, None)), message.handler_name
