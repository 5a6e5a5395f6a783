"""The workbench App: wires screens, bindings and its three parts (probe runs, the hypervisor
bridge, the watchers), and hands their messages to the screen on show."""

from __future__ import annotations

import dataclasses
import gc
import sys
from typing import Any, ClassVar

from rich.segment import Segments
from rich.text import Text
from textual.app import App
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.message import Message
from textual.notifications import SeverityLevel

from workbench.core.lifecycle import Transition
from workbench.core.report import ProbeResult, Report
from workbench.core.runner import ProbeClass
from workbench.core.text import safe_text
from workbench.logs.index import LogIndex
from workbench.ui.commands import WorkbenchCommands
from workbench.ui.config import UiConfig
from workbench.ui.messages import (
    ConnectionChanged,
    DomainsLoaded,
    HardwareChanged,
    LogGrew,
    ProbeFinished,
    ProbesDone,
    RetryFinished,
    RetryProgress,
    VmTransition,
)
from workbench.ui.probes import ProbeControl
from workbench.ui.screens.details import DetailsScreen
from workbench.ui.screens.logs import LogsScreen
from workbench.ui.screens.modals import HelpScreen
from workbench.ui.screens.overview import OverviewScreen
from workbench.ui.screens.vms import VmsScreen
from workbench.ui.virt import VirtBridge
from workbench.ui.watchers import Watchers
from workbench.ui.widgets.status_bar import connection_text


def host_label(root: str) -> str:
    """The machine's hostname as it says itself, else its root."""
    from workbench.core.errors import WorkbenchError
    from workbench.core.host import Host

    try:
        name, _ = Host(root).try_read("proc/sys/kernel/hostname")
    except WorkbenchError:
        name = None
    return (name or "").strip() or root


class WorkbenchApp(App[int]):
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
        Binding("l", "switch_mode('logs')", "Logs", id="view.logs"),
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

    # --- the shared state the screens read ---------------------------------------------------

    @property
    def probe_classes(self) -> list[ProbeClass]:
        return self.probes.classes

    @property
    def results(self) -> dict[str, ProbeResult]:
        return self.probes.results

    @property
    def report(self) -> Report | None:
        return self.probes.report

    @property
    def log_index(self) -> LogIndex | None:
        return self.watchers.log_index

    @property
    def domains(self) -> list[dict[str, Any]]:
        return self.virt.domains

    @property
    def display_choice(self) -> dict[str, str]:
        return self.virt.display_choice

    def vm_state(self, vm: str) -> str:
        return self.virt.state(vm)

    def history(self, vm: str) -> list[Transition]:
        return self.virt.history(vm)

    def connection_label(self) -> Text:
        return connection_text(self.virt.connection, self.config.connect)

    # --- life ------------------------------------------------------------------------------------

    def on_mount(self) -> None:
        # Probes and watchers start after the first frame: their threads would otherwise take
        # the GIL from the first render, and the operator should see the workbench at once.
        self.call_after_refresh(self.probes.run_all)
        self.call_after_refresh(self.watchers.start)
        self.call_after_refresh(self.virt.start)

    def on_unmount(self) -> None:
        self.watchers.stop()
        self.probes.cancel_retry()
        self.virt.stop()

    def _fatal_error(self) -> None:
        """Textual's crash report, without the frames' local variables (a password typed in
        --connect lives there) and with URIs masked (see workbench.ui.crash)."""
        from workbench.ui.crash import crash_report  # rich.traceback + pygments: ~19 ms of start-up

        self.bell()
        report = crash_report(sys.exc_info()[1])
        self._exit_renderables.append(Segments(self.console.render(report, self.console.options)))
        self._close_messages_no_wait()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification carries machine text (VM names, errors, paths): never markup,
        control characters shown escaped, whatever the caller asks."""
        super().notify(
            safe_text(message, multiline=True),
            title=safe_text(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    # --- messages from the workers, handed to the screen on show ------------------------------

    def on_probe_finished(self, message: ProbeFinished) -> None:
        self.probes.finished(message.result)
        self._forward(message)

    def on_probes_done(self, message: ProbesDone) -> None:
        self.probes.done(message.report)
        if self.config.owns_process and not gc.get_freeze_count():
            # Start-up is over: the 50k+ objects of Textual, libvirt and the probes live as
            # long as the app. Left to the collector, each full collection walks them all
            # (45-60 ms every ~0.6 s while the log view follows a busy log: the log's p99).
            gc.freeze()

    def on_hardware_changed(self, message: HardwareChanged) -> None:
        """A device came or went, or a driver changed: say so, and judge the PCI probes again."""
        driver = f" ({message.driver})" if message.driver else ""
        self.notify(f"PCI {message.bdf}: {message.action}{driver}; checking again")
        self.probes.rerun_pci()

    def on_retry_progress(self, message: RetryProgress) -> None:
        self._forward(message)

    def on_retry_finished(self, message: RetryFinished) -> None:
        self._forward(message)
        self.notify(message.detail, severity="information" if message.ok else "warning")

    def on_vm_transition(self, message: VmTransition) -> None:
        self._forward(message)

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        self._forward(message)
        if message.record.get("connection") == "connected":
            self.virt.load_domains()

    def on_domains_loaded(self, message: DomainsLoaded) -> None:
        self.virt.domains = message.domains
        self._forward(message)

    def on_log_grew(self, message: LogGrew) -> None:
        if isinstance(self.screen, LogsScreen):
            self.screen.post_message(LogGrew(message.lines))

    def _forward(self, message: Message) -> None:
        """Hand a state change to the screen on show; the others refresh when shown again."""
        if not self.screen_stack:
            return  # shutting down: late messages from threads have nowhere to go
        screen = self.screen
        if isinstance(screen, OverviewScreen):
            if isinstance(message, ProbeFinished | ConnectionChanged):
                screen.mark_dirty()  # redrawn on its next tick, however many arrive meanwhile
        elif isinstance(screen, DetailsScreen | VmsScreen):
            screen.post_message(dataclasses.replace(message))  # type: ignore[type-var]

    # --- what the screens, keys and palette ask for -------------------------------------------

    def action_rerun(self) -> None:
        if isinstance(self.screen, OverviewScreen):
            self.screen.mark_dirty()
        self.probes.run_all()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def show_details(self, probe_id: str) -> None:
        self.push_screen(DetailsScreen(probe_id))

    def run_on(self, mode: str, action: str) -> None:
        """Switch to `mode`'s screen and run one of its actions there (palette entries)."""
        self.switch_mode(mode)
        self.call_later(lambda: self.screen.run_action(action))
