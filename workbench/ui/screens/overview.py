"""Overview: every probe's verdict, root causes first, dependants saying what blocks them."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

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
    DEFAULT_CSS = """
    OverviewScreen #verdict { height: auto; max-height: 6; padding: 0 1;
        border-top: solid $accent; }
    """

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusBar(id="status")
        table: DataTable[Text] = DataTable(id="probes", cursor_type="row", zebra_stripes=True)
        yield table
        # The selected probe's whole verdict and cause, wrapped: a narrow terminal cuts the
        # table's Verdict column, never this.
        yield Static(id="verdict")
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
        self._select_the_failure()
        self.refresh_status()
        self.refresh_verdict()

    _selected_once = False

    def _select_the_failure(self) -> None:
        """Once every probe has answered, the cursor goes to the first failure with a cause
        (else the first failure), unless the operator has moved it: a small terminal shows
        that row, and the verdict line its whole cause."""
        results = self.wb.probes.results
        if self._selected_once or len(results) < len(self.wb.probes.classes):
            return
        self._selected_once = True
        table = self.query_one("#probes", DataTable)
        if table.cursor_row != 0:
            return
        failed = [
            r for p in self.wb.probes.classes if (r := results.get(p.id)) and r.status == "fail"
        ]
        explained = [r.id for r in failed if top_cause(causes_of(r.facts)) is not None]
        chosen = explained or [r.id for r in failed]
        if chosen:
            table.move_cursor(row=table.get_row_index(chosen[0]))

    def selected(self) -> str | None:
        table = self.query_one("#probes", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key is None else str(key)

    def refresh_verdict(self) -> None:
        """The selected probe in full: its status, its likeliest cause's whole title, its
        verdict, and the key to its details (the remedy)."""
        probe_id = self.selected()
        result = None if probe_id is None else self.wb.probes.results.get(probe_id)
        if probe_id is None or result is None:
            text = plain("" if probe_id is None else f"{probe_id}: running…", "dim")
        else:
            text = assemble(ICONS[result.status], " ", plain(f"{probe_id} {result.status}", "b"))
            if result.blocked_by:
                text.append_text(plain(f" · blocked by {', '.join(result.blocked_by)}"))
            top = top_cause(causes_of(result.facts))
            if top is not None:
                text.append_text(assemble((" · cause: ", "dim"), plain(top.get("title"), "b")))
            text.append_text(assemble((" · ", "dim"), plain(result.summary)))
            text.append_text(plain("  (enter: details and remedy)", "dim"))
        self.query_one("#verdict", Static).update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_verdict()

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
        key = self.selected()
        if key is not None:
            self.wb.show_details(key)

    def on_screen_resume(self) -> None:
        self.refresh_all()
