"""Overview: every probe's verdict, root causes first, dependants saying what blocks them."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header

from workbench.core.report import ProbeResult
from workbench.ui.causes import causes_of, short_title, top_cause
from workbench.ui.messages import ConnectionChanged, ProbeFinished
from workbench.ui.plain import assemble, plain
from workbench.ui.screens.base import WorkbenchScreen
from workbench.ui.widgets.status_bar import ICONS, StatusBar, connection_text


class OverviewScreen(WorkbenchScreen):
    BINDINGS = [
        Binding("enter", "details", "Details", id="probe.details"),
        Binding("R", "rerun", "Rerun all", id="probe.rerun"),
    ]
    FOLLOWS = (ProbeFinished, ConnectionChanged)

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusBar(id="status")
        table: DataTable[Text] = DataTable(id="probes", cursor_type="row", zebra_stripes=True)
        yield table
        yield Footer()

    _dirty = False

    def on_mount(self) -> None:
        self.refresh_all()
        self.set_interval(0.05, self._redraw_if_dirty)

    def mark_dirty(self) -> None:
        self._dirty = True

    # Redrawn on the next tick, however many results arrive meanwhile.
    def on_probe_finished(self, message: ProbeFinished) -> None:
        self.mark_dirty()

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        self.mark_dirty()

    def action_rerun(self) -> None:
        self.mark_dirty()
        self.wb.action_rerun()

    def _redraw_if_dirty(self) -> None:
        if self._dirty:
            self._dirty = False
            self.refresh_all()

    def refresh_all(self) -> None:
        """Rebuild the table from the results (12 rows: cheap), so column widths always fit the
        current verdicts exactly; the cursor stays where the operator left it."""
        table = self.query_one("#probes", DataTable)
        cursor = table.cursor_coordinate
        table.clear(columns=True)
        table.add_column("", key="icon", width=1)
        table.add_column("Area", key="area", width=8)
        table.add_column("Probe", key="probe", width=21)
        rows = [
            (p.id, self._cells(p.id, p.area, self.wb.probes.results.get(p.id)))
            for p in self.wb.probes.classes
        ]
        # Widths measured here, not lazily by the table: the layout is the same on every refresh.
        verdict = max([7, *(cells[3].cell_len for _, cells in rows)])
        table.add_column("Verdict", key="summary", width=verdict)
        if not self.wb.config.stable:
            table.add_column("ms", key="ms", width=7)
        for key, cells in rows:
            table.add_row(*cells, key=key)
        table.cursor_coordinate = cursor
        self.refresh_status()

    def _cells(self, probe_id: str, area: str, result: ProbeResult | None) -> list[Text]:
        # Summaries quote the machine (its cmdline, VM names): text, never markup.
        if result is None:
            cells = [ICONS["running"], plain(area), plain(probe_id), plain("running…", "dim")]
        else:
            summary = plain(result.summary)
            if result.blocked_by:
                summary = plain(f"blocked by {', '.join(result.blocked_by)}", "dim")
            elif (top := top_cause(causes_of(result.facts))) is not None:
                # The likeliest cause it explained, before its verdict: the operator's "why"
                # stays on screen however long the verdict (its subject: enter, the details).
                why = assemble(("cause: ", "dim"), (short_title(top), "bold"), (" · ", "dim"))
                summary = why.append_text(summary)
            cells = [ICONS[result.status], plain(area), plain(probe_id), summary]
        if not self.wb.config.stable:
            cells.append(Text("") if result is None else Text(f"{result.duration_ms:.1f}"))
        return cells

    def refresh_status(self) -> None:
        counts = dict.fromkeys(("pass", "warn", "fail", "skip", "error"), 0)
        for result in self.wb.probes.results.values():
            counts[result.status] += 1
        running = len(self.wb.probes.classes) - len(self.wb.probes.results)
        self.query_one(StatusBar).show(
            self.wb.host_label, connection_text(self.wb), counts, running
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.wb.show_details(str(event.row_key.value))

    def action_details(self) -> None:
        table = self.query_one("#probes", DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key is not None:
            self.wb.show_details(str(key))

    def on_screen_resume(self) -> None:
        self.refresh_all()
