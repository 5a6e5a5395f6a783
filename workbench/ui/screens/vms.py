"""VMs: each domain's state, GPU hostdevs and agent, and the selected VM's transitions, live."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Label

from workbench.core.lifecycle import Transition
from workbench.core.text import mask_uri
from workbench.ui.causes import causes_for_vm, failed_why
from workbench.ui.config import UiConfig
from workbench.ui.messages import (
    ConnectionChanged,
    DomainsLoaded,
    ProbeFinished,
    VmFailureExplained,
    VmTransition,
)
from workbench.ui.plain import assemble, plain
from workbench.ui.screens.base import WorkbenchScreen
from workbench.ui.widgets.start_failure import StartFailureView
from workbench.ui.widgets.status_bar import StatusBar, connection_text

COLUMNS = ("name", "state", "gpu", "agent", "display", "why")
STATE_STYLE = {
    "running": "green",
    "paused": "yellow",
    "shutoff": "dim",
    "crashed": "red",
    "shutdown": "yellow",
    "undefined": "red",
    "pmsuspended": "cyan",
}


def clock(timestamp: str) -> str:
    """A transition's time (ISO 8601, UTC) as local time with its zone: `09:00:05 CET`."""
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().strftime("%H:%M:%S %Z")


def worded(detail: str) -> str:
    """libvirt's words as operators read them: a VM is forced off, not destroyed."""
    return detail.replace("destroyed", "forced off")


@functools.lru_cache(maxsize=4096)
def timeline_row(t: Transition, stable: bool) -> tuple[Text, ...]:
    """A transition's cells, made once: the timeline is rebuilt up to ten times a second while
    events pour in, and each row costs a time-zone conversion and a few escaped Texts."""
    when = "--:--:--" if stable else clock(t.timestamp)
    detail = worded(t.detail or "")
    if t.from_state == t.to_state and t.cause == "action":
        # An operator's request, noted before its effect: say so, not `running → running`.
        return (plain(when), plain(detail.removeprefix("operator: "), "b"), plain(t.cause))
    return (
        plain(when),
        assemble(plain(f"{t.from_state} → "), plain(t.to_state, "b")),
        plain(f"{t.cause} ({detail})" if detail else t.cause),
    )


def mode_text(config: UiConfig, not_recorded: bool = False) -> str:
    if not_recorded:
        return "not recorded: this machine's VMs were not captured; no VMs to show or act on"
    if config.connect is None:  # a capture or a recorded root: nothing live to act on
        return "recorded: the VMs as captured; no live transitions, no actions"
    if config.allow_actions:
        return "actions allowed"
    return "read-only: start with --allow-actions to act on VMs"


class VmsScreen(WorkbenchScreen):
    BINDINGS = [
        Binding("f", "fallback", "Display…", id="vm.display"),
        # The why pane takes the keys (up/down/pageup/pagedown scroll to the remedy); w again
        # or escape: back to the VMs.
        Binding("w", "why", "Why/remedy", id="vm.why"),
        Binding("escape", "why_off", "Back to the VMs", show=False),
        Binding("s", "act('start')", "Start", id="vm.start"),
        Binding("d", "act('shutdown')", "Shutdown", id="vm.shutdown"),
        # A shut-off VM is not offered a shutdown (check_action); the key still says it is off.
        Binding("d", "request('shutdown')", "Shutdown", show=False),
        Binding("D", "act('force-off')", "Force off", id="vm.force_off", show=False),
        Binding("t", "act('reboot')", "Reboot", id="vm.reboot", show=False),
        Binding("p", "act('suspend')", "Suspend", id="vm.suspend", show=False),
        Binding("u", "act('resume')", "Resume", id="vm.resume", show=False),
    ]
    FOLLOWS = (VmTransition, DomainsLoaded, ConnectionChanged, VmFailureExplained, ProbeFinished)
    DEFAULT_CSS = """
    VmsScreen #domains { height: 1fr; }
    VmsScreen #why-box { height: auto; max-height: 50%; }
    VmsScreen #why-box:focus { background: $boost; }
    VmsScreen #timeline { height: 1fr; }
    VmsScreen #mode { padding: 0 1; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusBar(id="status")
        yield DataTable(id="domains", cursor_type="row")
        yield Label(id="mode")
        with VerticalScroll(id="why-box", can_focus=True):
            yield StartFailureView(id="why")
        yield DataTable(id="timeline", cursor_type="row")
        yield Footer()

    _dirty = False

    def on_mount(self) -> None:
        self.set_interval(0.1, self._redraw_if_dirty)
        timeline = self.query_one("#timeline", DataTable)
        for key, label in (("time", "Time"), ("change", "Transition"), ("cause", "Cause")):
            timeline.add_column(label, key=key)
        self.refresh_mode()
        self.refresh_domains()

    def refresh_mode(self) -> None:
        self.query_one("#mode", Label).update(
            plain(mode_text(self.wb.config, self.wb.virt.not_recorded))
        )

    def selected(self) -> str | None:
        table = self.query_one("#domains", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key is None else str(key)

    def refresh_domains(self) -> None:
        """Rebuild the VM table (a handful of rows) with widths measured here, keeping the
        operator's row: the same layout on every refresh."""
        table = self.query_one("#domains", DataTable)
        selected = self.selected()
        rows = []
        several = self.wb.virt.several
        for dom in self.wb.virt.domains:
            name = dom.name
            uri, own_name = self.wb.virt.locate(name)
            # Several hypervisors: the VM's own name, and whose it is in a column of its own.
            where = [plain(mask_uri(uri or ""))] if several else []
            state = self.wb.virt.state(name)
            # Names, devices and channels come from the domain XML: text, never markup.
            agent = dom.agent.kind if dom.agent is not None else None
            display = self.wb.virt.display_choice.get(name)
            state_cell = plain(state, STATE_STYLE.get(state, "white"))
            failure = self.wb.virt.failures.get(name)
            why = plain("")
            if failure is not None and failure.failed and state != "running":
                state_cell.append_text(plain(" · start failed", "bold red"))
                why = failed_why(failure.causes)
            rows.append(
                (
                    name,
                    [
                        plain(own_name),
                        *where,
                        state_cell,
                        plain(", ".join(h.bdf for h in dom.hostdevs))
                        if dom.hostdevs
                        else plain("none", "dim"),
                        plain(agent) if agent else plain("missing", "red"),
                        plain(display) if display else plain("auto", "dim"),
                        why,
                    ],
                )
            )
        table.clear(columns=True)
        labels: tuple[str, ...] = (
            "VM",
            "State",
            "PCI passthrough",
            "Agent channel",
            "Display",
            "Why",
        )
        keys: tuple[str, ...] = COLUMNS
        if several:
            keys = (COLUMNS[0], "hypervisor", *COLUMNS[1:])
            labels = (labels[0], "Hypervisor", *labels[1:])
        for i, (key, label) in enumerate(zip(keys, labels, strict=True)):
            width = max([len(label), *(c[i].cell_len for _, c in rows)])
            table.add_column(label, key=key, width=width)
        for name, cells in rows:
            table.add_row(*cells, key=name)
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))
        self.refresh_timeline()
        self._offer_later()  # the selected VM may have changed state
        running = sum(self.wb.virt.state(d.name) == "running" for d in self.wb.virt.domains)
        counted = f"{len(self.wb.virt.domains)} VMs, {running} running"
        self.query_one(StatusBar).show_text(
            self.wb.host_label,
            connection_text(self.wb),
            "VMs not recorded" if self.wb.virt.not_recorded else counted,
        )

    def refresh_why(self) -> None:
        """The selected VM's failed start, explained (hidden when there is nothing to say)."""
        vm = self.selected()
        view = self.query_one(StartFailureView)
        if vm is None:
            shown = view.show("", None, False)
        else:
            off = self.wb.virt.state(vm) == "shutoff"
            # what would stop it starting is moot once it runs (the probes' word is older)
            probe_causes = causes_for_vm(self.wb.probes.results.values(), vm) if off else []
            shown = view.show(vm, self.wb.virt.failures.get(vm), off, probe_causes)
        self.query_one("#why-box").display = shown

    def refresh_timeline(self) -> None:
        timeline = self.query_one("#timeline", DataTable)
        timeline.clear()
        self.refresh_why()
        vm = self.selected()
        if vm is None:
            return
        for transition in self.wb.virt.history(vm)[-200:]:
            timeline.add_row(*self._row(transition))
        if timeline.row_count:
            timeline.move_cursor(row=timeline.row_count - 1)

    def _row(self, t: Transition) -> tuple[Text, ...]:
        return timeline_row(t, self.wb.config.stable)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "domains":
            self.refresh_timeline()
            self._refresh_offer()

    _offer: tuple[str | None, bool] | None = None
    _offer_timer: Timer | None = None

    def _offer_later(self) -> None:
        """While events pour in, the footer follows the selected VM's state at most twice a
        second: rebuilding the footer costs a frame (key p99 under 1,000 events/s: 78 -> 130 ms
        when it followed every redraw)."""
        if self._offer_timer is None:
            self._offer_timer = self.set_timer(0.5, self._offer_due)

    def _offer_due(self) -> None:
        self._offer_timer = None
        self._refresh_offer()

    def _refresh_offer(self) -> None:
        """The footer offers what the selected VM's state allows: rebuilt only when that changes
        (the table is rebuilt up to ten times a second while events pour in)."""
        vm = self.selected()
        offer = (vm, vm is not None and self.wb.virt.state(vm) == "shutoff")
        if offer != self._offer:
            self._offer = offer
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer's Shutdown is not offered for a shut-off VM (its key says why)."""
        if action == "act" and parameters == ("shutdown",):
            vm = self.selected()
            return vm is None or self.wb.virt.state(vm) != "shutoff"
        return True

    def on_vm_transition(self, message: VmTransition) -> None:
        # Events may come a thousand a second: mark, and redraw at most ten times a second.
        self._dirty = True

    def _redraw_if_dirty(self) -> None:
        if self._dirty:
            self._dirty = False
            self.refresh_domains()

    def on_domains_loaded(self, message: DomainsLoaded) -> None:
        self.refresh_domains()

    def on_vm_failure_explained(self, message: VmFailureExplained) -> None:
        self.refresh_domains()

    def on_probe_finished(self, message: ProbeFinished) -> None:
        # A preflight's causes name VMs: redrawn with the next tick, like transitions.
        self._dirty = True

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        self.refresh_mode()
        self.refresh_domains()

    def action_act(self, action: str) -> None:
        vm = self.selected()
        if vm is not None:
            self.wb.virt.request_action(action, vm)

    def action_request(self, action: str) -> None:
        """Ask for `action` whatever the footer offers: the request says why not if it cannot."""
        self.action_act(action)

    def action_why(self) -> None:
        """The why pane takes focus (its keys scroll it: the remedy below the fold of a small
        terminal); again, back to the VMs."""
        box = self.query_one("#why-box", VerticalScroll)
        if box.has_focus:
            self.query_one("#domains", DataTable).focus()
        elif box.display:
            box.focus()
        else:
            self.notify("nothing to explain for this VM")

    def action_why_off(self) -> None:
        self.query_one("#domains", DataTable).focus()

    def action_fallback(self) -> None:
        vm = self.selected()
        if vm is not None:
            self.wb.virt.choose_display(vm)

    def on_screen_resume(self) -> None:
        self.refresh_mode()
        self.refresh_domains()
