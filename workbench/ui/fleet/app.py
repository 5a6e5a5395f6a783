"""The fleet table: a DataTable of machines x probes; enter opens the machine under the cursor
in a worker thread (unpacking a capture or a report takes time), then hands it back to the
command, which runs its workbench and returns here."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from workbench.core.text import safe_text
from workbench.fleet.model import Fleet, FleetMachine
from workbench.fleet.table import shared_lines
from workbench.textreport import GLYPH  # the text table's own, one set
from workbench.ui.plain import plain
from workbench.ui.safe_app import SafeApp

STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "error": "magenta", "skip": "dim"}


@dataclass
class Opened:
    """A machine opened for its workbench: its UiConfig, and what to close afterwards."""

    machine: FleetMachine
    config: Any  # workbench.ui.config.UiConfig
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)


def open_machine(machine: FleetMachine) -> Opened:
    """Open `machine`'s target (read only: no actions) for the workbench. Raises
    WorkbenchError when it cannot be opened."""
    from workbench.target import open_target
    from workbench.ui.config import UiConfig

    stack = contextlib.ExitStack()
    where: dict[str, Any] = {machine.kind: machine.path_to_open()}  # root=, capture=, sos=
    try:
        target = stack.enter_context(open_target(**where))
        config = UiConfig.from_target(target, allow_actions=False)
    except BaseException:
        stack.close()
        raise
    return Opened(machine, config, stack)


class FleetApp(SafeApp):
    """Machines x probes. Returns (app.opened) the machine enter opened, else None on quit."""

    TITLE = "Workbench — fleet"
    CSS = """
    #fleet { height: 1fr; }
    #fleet-status { height: 3; padding: 0 1; }
    #fleet-shared { height: auto; max-height: 40%; padding: 0 1; border-top: solid $accent; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open workbench", show=True),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(self, fleet: Fleet, cursor: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fleet = fleet
        self.cursor = cursor
        self.opened: Opened | None = None
        self.opening = False

    def compose(self) -> ComposeResult:
        yield Header()
        # the machine column stays when the probes' columns are scrolled sideways
        yield DataTable(id="fleet", cursor_type="row", zebra_stripes=True, fixed_columns=1)
        yield Static(self._problems(), id="fleet-status", markup=False)
        shared = "\n".join(shared_lines(self.fleet)).strip("\n")
        with VerticalScroll(id="fleet-shared"):  # the text table's words
            yield Static(plain(shared or "no probe failed; no cause found", multiline=True))
        yield Footer()

    def action_help(self) -> None:
        from workbench.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen.over(self.screen, "Fleet"))

    def _problems(self) -> str:
        said = f"{len(self.fleet.machines)} machine(s); enter opens one's workbench"
        problems = self.fleet.problems
        if problems:  # the first said; the rest counted (the text report lists them all)
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            said += f"\npassed over: {safe_text(problems[0])}{more}"
        return said

    def on_mount(self) -> None:
        table = self.query_one("#fleet", DataTable)
        probes = self.fleet.probe_ids()
        table.add_column("machine", key="machine")
        clashing = {id(m) for m in self.fleet.clashing()}
        if clashing:  # one name, several machines: each one's source beside it
            table.add_column("source", key="source")
        for probe in probes:
            table.add_column(Text(probe), key=probe)
        table.add_column("causes", key="causes")
        for index, machine in enumerate(self.fleet.machines):
            cells: list[Text] = [Text(safe_text(machine.name))]
            if clashing:
                shown = safe_text(machine.source) if id(machine) in clashing else ""
                cells.append(Text(shown[-48:], style="dim"))
            if machine.error is not None:
                cells += [Text("not opened", style="magenta")] + [Text("")] * len(probes)
            else:
                for probe in probes:
                    status = machine.statuses.get(probe)
                    cells.append(
                        Text(GLYPH.get(status, "?"), style=STYLE.get(status, ""))
                        if status
                        else Text("·", style="dim")
                    )
                cells.append(Text(safe_text(", ".join(machine.causes))))
            table.add_row(*cells[: len(probes) + 2 + bool(clashing)], key=str(index))
        if self.fleet.machines:
            table.move_cursor(row=min(self.cursor, len(self.fleet.machines) - 1))
        table.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The machine under the cursor: its source and summary, under the table."""
        if self.opening or not 0 <= event.cursor_row < len(self.fleet.machines):
            return
        machine = self.fleet.machines[event.cursor_row]
        what = machine.error.get("message") if machine.error else machine.summary
        line = f"{machine.name}: {machine.kind} {machine.source}; {what}"
        status = plain(line)
        status.append("\n" + self._problems())
        self.query_one("#fleet-status", Static).update(status)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row (the table's own select)."""
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        if self.opening or not self.fleet.machines:
            return
        row = self.query_one("#fleet", DataTable).cursor_row
        machine = self.fleet.machines[row]
        if machine.error is not None:
            self.notify(f"{safe_text(machine.name)} could not be opened", severity="error")
            return
        self.cursor = row
        self.opening = True
        self.query_one("#fleet-status", Static).update(plain(f"opening {machine.name}…"))
        self._open(machine)

    @work(thread=True, exclusive=True, group="open")
    def _open(self, machine: FleetMachine) -> None:
        """Open the machine off the UI thread; the app exits holding it (the command runs its
        workbench, then this table again)."""
        from workbench.core.errors import WorkbenchError

        try:
            opened = open_machine(machine)
        except WorkbenchError as exc:
            self.call_from_thread(self._failed, machine, exc.message)
            return
        self.call_from_thread(self._done, opened)

    def _done(self, opened: Opened) -> None:
        self.opened = opened
        self.exit(0)

    def _failed(self, machine: FleetMachine, message: str) -> None:
        self.opening = False
        self.query_one("#fleet-status", Static).update(self._problems())
        self.notify(f"{safe_text(machine.name)}: {safe_text(message)}", severity="error")
