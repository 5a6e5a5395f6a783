"""The workbench App: wires screens, bindings and its three parts (probe runs, the hypervisor
bridge, the watchers); routes each StateChange to the part that keeps its state, then to the screen
on show; lands every failed worker's error in one place."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import App
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.worker import Worker, WorkerState

from workbench.core.text import safe_text
from workbench.ui.commands import WorkbenchCommands
from workbench.ui.config import UiConfig
from workbench.ui.messages import StateChange
from workbench.ui.probes import ProbeControl
from workbench.ui.safe_app import SafeApp
from workbench.ui.screens.base import WorkbenchScreen
from workbench.ui.screens.details import DetailsScreen
from workbench.ui.screens.error import show_failure
from workbench.ui.screens.help import HelpScreen
from workbench.ui.screens.logpicker import OURS, LogChoice, LogPickerScreen, machine_logs
from workbench.ui.screens.logs import LogsScreen
from workbench.ui.screens.overview import OverviewScreen
from workbench.ui.screens.vms import VmsScreen
from workbench.ui.virt import VirtBridge
from workbench.ui.watchers import Watchers
from workbench.ui.widgets.status_bar import host_label

if TYPE_CHECKING:
    from workbench.ui.view.spool import Spool
    from workbench.ui.view.timeline import Timeline


class WorkbenchApp(SafeApp):
    TITLE = "Workbench"
    CSS_PATH = "workbench.tcss"
    MODES: ClassVar[dict[str, Any]] = {
        "overview": OverviewScreen,
        "vms": VmsScreen,
        "logs": LogsScreen,
    }
    DEFAULT_MODE = "overview"
    COMMANDS = App.COMMANDS | {WorkbenchCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "switch_mode('overview')", "Overview", id="view.overview"),
        Binding("v", "switch_mode('vms')", "VMs", id="view.vms"),
        Binding("l", "logs", "Logs", id="view.logs"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(self, config: UiConfig, driver_class: type[Driver] | None = None) -> None:
        super().__init__(driver_class=driver_class)
        self.config = config
        self.title = safe_text(config.title)  # it names the capture file
        self.host_label = host_label(config.root)
        self.probes = ProbeControl(self, config)
        self.virt = VirtBridge(self, config)
        self.watchers = Watchers(self, config)
        # Which part keeps the state a StateChange carries; it says whether screens see it.
        self._keepers: dict[type[StateChange], Callable[[Any], bool]] = {
            **self.probes.handlers(),
            **self.virt.handlers(),
        }

    def on_mount(self) -> None:
        # Probes and watchers start after the first frame: their threads would otherwise take
        # the GIL from the first render, and the operator should see the workbench at once.
        self.call_after_refresh(self.probes.run_all)
        self.call_after_refresh(self.watchers.start)
        self.call_after_refresh(self.virt.start)

    def on_unmount(self) -> None:
        self.watchers.stop()
        self.probes.stop()
        self.virt.stop()

    @on(StateChange)
    def _update(self, message: StateChange) -> None:
        keeper = self._keepers.get(type(message))
        if keeper is not None and not keeper(message):
            return  # stale: a newer run has spoken
        screen = self.screen if self.screen_stack else None
        if isinstance(screen, WorkbenchScreen) and type(message) in screen.FOLLOWS:
            # A copy becomes the screen's own message, handled by its on_* (on_probe_finished,
            # ...) once it is built: a screen just pushed has no widgets to update yet.
            screen.post_message(dataclasses.replace(message))  # type: ignore[type-var]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every worker's failure lands here: a toast or the error screen, never a crash."""
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            show_failure(self, worker.name or worker.group, worker.error, worker.group)

    def action_rerun(self) -> None:
        self.probes.run_all()

    def action_help(self) -> None:
        self.push_screen(HelpScreen.over(self.screen))

    def action_logs(self) -> None:
        """The machine's logs on offer (ours, the kernel's, each VM's QEMU log)."""
        from workbench.core.host import Host
        from workbench.core.machinelogs import KERNEL_LOG, LIBVIRT_LOG, qemu_log_path

        host = Host(self.config.root)
        domains = [self.virt.name_of(d.name) for d in self.virt.domains]
        libvirt = None if host.live else host.path(LIBVIRT_LOG)
        absent = set()
        if not host.live:  # a recorded machine: the logs its recording holds
            if not host.path(KERNEL_LOG).is_file():
                absent.add("kernel")
            absent |= {f"qemu:{d}" for d in domains if not host.path(qemu_log_path(d)).is_file()}
        choices = machine_logs(
            host.live,
            domains,
            str(libvirt) if libvirt is not None and libvirt.is_file() else None,
            absent,
            ours_local=self.config.local_log,
        )
        ticked = {"kernel" if self.config.local_log else OURS}  # the machine's own log first
        failed = [f"qemu:{vm}" for vm, f in self.virt.failures.items() if f.failed]
        if failed:  # a VM did not start: its QEMU log and the boot's kernel log say why
            ticked |= {"kernel", *failed} - absent
        self.push_screen(LogPickerScreen(choices, ticked), self._logs_chosen)

    def _logs_chosen(self, chosen: list[LogChoice] | None) -> None:
        if not chosen:
            return
        if [c.spec for c in chosen] == [OURS]:
            self.switch_mode("logs")  # our own log alone: its own screen
            return
        self.run_worker(
            lambda: self._open_logs(chosen), thread=True, group="logs-open", exit_on_error=False
        )

    def _open_logs(self, chosen: list[LogChoice]) -> None:
        """On a worker thread: the chosen logs opened, then shown by the UI thread."""
        from workbench.core.host import Host
        from workbench.ui.screens.machinelogs import open_chosen

        timeline, spool, problems = open_chosen(
            chosen, Host(self.config.root), self.config.log_path
        )
        self.call_from_thread(self._show_logs, timeline, spool, problems)

    def _show_logs(self, timeline: Timeline, spool: Spool, problems: list[str]) -> None:
        from workbench.ui.screens.machinelogs import MachineLogsScreen

        for problem in problems:
            self.notify(safe_text(problem), title="Not opened", severity="warning")
        if not timeline.sources:
            timeline.close()
            spool.close()
            return
        self.push_screen(MachineLogsScreen(timeline, spool))

    def show_details(self, probe_id: str) -> None:
        self.push_screen(DetailsScreen(probe_id))

    def run_on(self, mode: str, action: str) -> None:
        """Switch to `mode`'s screen and run one of its actions there (palette entries)."""
        self.switch_mode(mode)
        self.call_later(lambda: self.screen.run_action(action))
