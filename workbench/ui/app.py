"""The workbench App: wires screens, workers and the hypervisor session; holds the shared state."""

from __future__ import annotations

import dataclasses
import gc
from typing import Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.message import Message

from workbench.core.lifecycle import Transition
from workbench.core.recovery import CancelToken, RetryPolicy
from workbench.core.report import ProbeResult, Report
from workbench.core.runner import ProbeClass, discover_probes, order_probes
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
from workbench.ui.screens.details import DetailsScreen
from workbench.ui.screens.logs import LogsScreen
from workbench.ui.screens.modals import ConfirmScreen, FallbackScreen, HelpScreen
from workbench.ui.screens.overview import OverviewScreen
from workbench.ui.screens.vms import VmsScreen
from workbench.ui.virt import VirtBridge
from workbench.ui.widgets.status_bar import connection_text
from workbench.ui.workers import LogFeeder, probe_retry, probe_run


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
        Binding("o", "overview", "Overview", id="view.overview"),
        Binding("v", "vms", "VMs", id="view.vms"),
        Binding("l", "logs", "Logs", id="view.logs"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(self, config: UiConfig, driver_class: type[Driver] | None = None) -> None:
        super().__init__(driver_class=driver_class)
        self.config = config
        self.title = config.title
        self.probe_classes: list[ProbeClass] = order_probes(discover_probes())
        self.results: dict[str, ProbeResult] = {}
        self.report: Report | None = None
        self.host_label = host_label(config.root)
        self.virt = VirtBridge(self, config)
        self.display_choice: dict[str, str] = {}
        self.log_index: LogIndex | None = None
        self._feeder: LogFeeder | None = None
        self._retry_cancel: CancelToken | None = None
        self._watcher: Any = None

    # --- shared state the screens read -----------------------------------------------------

    @property
    def domains(self) -> list[dict[str, Any]]:
        return self.virt.domains

    def vm_state(self, vm: str) -> str:
        return self.virt.state(vm)

    def history(self, vm: str) -> list[Transition]:
        return self.virt.history(vm)

    def connection_label(self) -> str:
        return connection_text(self.virt.connection, self.config.connect)

    # --- life ------------------------------------------------------------------------------------

    def on_mount(self) -> None:
        # Probes and watchers start after the first frame: their threads would otherwise take
        # the GIL from the first render, and the operator should see the workbench at once.
        self.call_after_refresh(self.run_all_probes)
        self.call_after_refresh(self._start_watchers)

    def _start_watchers(self) -> None:
        """The log follower, the hypervisor session and the udev watcher."""
        from workbench.core.logging import get_logger

        # The first record sets the log file up (now, after the first frame, not before it).
        get_logger("ui").info("ui.started", root=self.config.root, connect=self.config.connect)
        if self.config.log_path is not None:
            try:
                self.log_index = LogIndex(self.config.log_path, following=True)
            except Exception as exc:  # noqa: BLE001 - a missing log must not stop the app
                self.notify(f"log view: {exc}", severity="warning")
            else:
                self._feeder = LogFeeder(self.log_index, self.post_message)
                self._feeder.start()
        self.virt.start()
        if self.config.root == "/":
            from workbench.core.hwwatch import HardwareWatcher

            self._watcher = HardwareWatcher(
                lambda c: self.post_message(HardwareChanged(c.action, c.bdf, c.driver))
            )
            self._watcher.start()

    # Probes whose verdict depends on which PCI devices exist and which driver holds them.
    PCI_PROBES = ("iommu.groups", "pci.gpus", "vfio.binding")

    def on_hardware_changed(self, message: HardwareChanged) -> None:
        """A device came or went, or a driver changed: say so, and judge the PCI probes again."""
        driver = f" ({message.driver})" if message.driver else ""
        self.notify(f"PCI {message.bdf}: {message.action}{driver}; checking again")
        self.run_worker(
            lambda: probe_run(
                self.config.root,
                self.probe_classes,
                self._options(),
                self.post_message,
                only=list(self.PCI_PROBES),
            ),
            thread=True,
            group="hw-rerun",
            exit_on_error=False,
        )

    def on_unmount(self) -> None:
        if self._feeder is not None:
            self._feeder.stop.set()
        if self._watcher is not None:
            self._watcher.stop()
        if self._retry_cancel is not None:
            self._retry_cancel.cancel()
        self.virt.stop()

    # --- probes ------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="probes", exit_on_error=False)
    def run_all_probes(self) -> None:
        probe_run(self.config.root, self.probe_classes, self._options(), self.post_message)

    def _options(self) -> dict[str, Any]:
        return {**self.config.probe_options, "connect": self.config.connect}

    def on_probe_finished(self, message: ProbeFinished) -> None:
        self.results[message.result.id] = message.result
        self._forward(message)

    def on_probes_done(self, message: ProbesDone) -> None:
        if len(message.report.probes) == len(self.probe_classes):  # not a partial re-run
            self.report = message.report
        if self.config.owns_process and not gc.get_freeze_count():
            # Start-up is over: the 50k+ objects of Textual, libvirt and the probes live as
            # long as the app. Left to the collector, each full collection walks them all
            # (45-60 ms every ~0.6 s while the log view follows a busy log: the log's p99).
            gc.freeze()

    def action_rerun(self) -> None:
        self.results.clear()
        if isinstance(self.screen, OverviewScreen):
            self.screen.mark_dirty()
        self.run_all_probes()

    def show_details(self, probe_id: str) -> None:
        self.push_screen(DetailsScreen(probe_id))

    def retry_probe(self, probe_id: str, *, backoff: bool) -> None:
        self.cancel_retry()
        token = CancelToken()
        self._retry_cancel = token
        attempts = self.config.retry_attempts if backoff else 1
        policy = RetryPolicy(
            attempts=attempts,
            base_delay=self.config.retry_base_delay_s,
            factor=2.0,
            max_delay=60.0,
            jitter=0.0 if self.config.stable else 0.1,
        )
        self.run_worker(
            lambda: probe_retry(
                self.config.root,
                self.probe_classes,
                self._options(),
                probe_id,
                policy,
                token,
                self.post_message,
            ),
            thread=True,
            exclusive=True,
            group="retry",
            exit_on_error=False,
        )

    def cancel_retry(self) -> None:
        if self._retry_cancel is not None:
            self._retry_cancel.cancel()
            self._retry_cancel = None

    def on_retry_progress(self, message: RetryProgress) -> None:
        self._forward(message)

    def on_retry_finished(self, message: RetryFinished) -> None:
        self._forward(message)
        self.notify(message.detail, severity="information" if message.ok else "warning")

    # --- VMs ---------------------------------------------------------------------------------

    def on_vm_transition(self, message: VmTransition) -> None:
        self._forward(message)

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        self._forward(message)
        if message.record.get("connection") == "connected":
            self.virt.load_domains()

    def on_domains_loaded(self, message: DomainsLoaded) -> None:
        self.virt.domains = message.domains
        self._forward(message)

    def request_action(self, action: str, vm: str) -> None:
        if not self.config.allow_actions:
            self.notify(
                "Read-only: start the workbench with --allow-actions to act on VMs.",
                severity="warning",
            )
            return
        from workbench.virt.actions import DESTRUCTIVE

        if action in DESTRUCTIVE:

            def confirmed(yes: bool | None) -> None:
                if yes:
                    self.virt.act(action, vm)

            self.push_screen(ConfirmScreen(f"{action} {vm}? This cannot be undone."), confirmed)
        else:
            self.virt.act(action, vm)

    def choose_display(self, vm: str) -> None:
        chain = self.virt.display_chain(vm)
        if chain is None:
            self.notify(f"{vm}: its configuration is not loaded yet", severity="warning")
            return

        def chosen(name: str | None) -> None:
            if name:
                self.display_choice[vm] = name
                plan = chain.run(start_at=name)
                shown = " ".join(plan.value.argv) if plan.value.argv else plan.value.uri
                self.notify(f"{vm}: display via {plan.served_by}: {shown}")
                self._forward(DomainsLoaded(self.virt.domains))

        self.push_screen(FallbackScreen(f"Show {vm}'s screen with…", chain.availability()), chosen)

    # --- logs --------------------------------------------------------------------------------

    def on_log_grew(self, message: LogGrew) -> None:
        if isinstance(self.screen, LogsScreen):
            self.screen.post_message(LogGrew(message.lines))

    # --- navigation and the command palette ------------------------------------------------

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

    def action_overview(self) -> None:
        self.switch_mode("overview")

    def action_vms(self) -> None:
        self.switch_mode("vms")

    def action_logs(self) -> None:
        self.switch_mode("logs")

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_vm_start(self) -> None:
        self._vm_command("act('start')")

    def action_vm_shutdown(self) -> None:
        self._vm_command("act('shutdown')")

    def action_vm_display(self) -> None:
        self._vm_command("fallback")

    def _vm_command(self, action: str) -> None:
        self.switch_mode("vms")
        self.call_later(lambda: self.screen.run_action(action))

    def action_logs_errors(self) -> None:
        self.switch_mode("logs")
        self.call_later(lambda: self.screen.run_action("level('error')"))

    def action_logs_follow(self) -> None:
        self.switch_mode("logs")
        self.call_later(lambda: self.screen.run_action("toggle_follow"))
