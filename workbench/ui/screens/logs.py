"""Logs: the live JSON log on the log engine, level filter, search, follow and record details."""

from __future__ import annotations

import json
import re

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Input, Label, Static
from textual.worker import get_current_worker

from workbench.logs.filters import LogFilter
from workbench.logs.index import LogIndex
from workbench.ui.messages import LogGrew
from workbench.ui.plain import assemble, join, plain
from workbench.ui.screens.base import WorkbenchScreen
from workbench.ui.widgets.log_view import LogView


class LogsScreen(WorkbenchScreen):
    BINDINGS = [
        Binding("e", "level('error')", "Errors", id="logs.errors"),
        Binding("w", "level('warning')", "Warnings+", id="logs.warnings"),
        Binding("a", "level(None)", "All", id="logs.all"),
        Binding("slash", "search", "Search", id="logs.search"),
        Binding("n", "next_error", "Next error", id="logs.next"),
        Binding("F", "toggle_follow", "Follow", id="logs.follow"),
        Binding("escape", "close_search", "Close search", show=False),
    ]
    FOLLOWS = (LogGrew,)
    DEFAULT_CSS = """
    LogsScreen #filterline { padding: 0 1; background: $boost; }
    LogsScreen #detail { height: 8; border-top: solid $accent; padding: 0 1; }
    LogsScreen #search { display: none; }
    LogsScreen #search.-open { display: block; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.level: str | None = None
        self.pattern: str | None = None
        # The filter's progress: lines 0.._upto examined, _matched the matching ones; each
        # filter choice has a number, so a late answer to an older choice is dropped.
        self._filter_gen = 0
        self._matched: list[int] = []
        self._upto = 0
        self._filtering = False
        self._pending = False
        self._truncations = 0  # the index's count when the filter's pass began
        self.scanned = 0  # lines the filters examined (each line once per filter choice)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label(id="filterline")
        yield Input(placeholder="regular expression, enter to apply", id="search")
        yield LogView(self.wb.watchers.log_index, id="lines")
        yield Static(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        view = self.query_one(LogView)
        view.refresh_size()
        view.focus()
        self.call_after_refresh(view.action_jump, -1)  # once the view knows its height
        self.update_filterline()
        self.set_interval(0.2, self._filterline_tick)

    def update_filterline(self, counting: bool = False) -> None:
        """Filter, line count and follow state first, the file last: a long path is cut off,
        never the state the operator acts on."""
        view = self.query_one(LogView)
        index = self.wb.watchers.log_index
        parts = [plain(f"level ≥ {self.level}" if self.level else "all levels")]
        if self.pattern:
            parts.append(plain(f"/{self.pattern}/"))
        parts.append(plain(f"{view._count()} line(s)" + (" …" if counting else "")))
        parts.append(plain("following") if view.follow else plain("paused", "yellow"))
        parts.append(plain("no log" if index is None else str(index.path)))
        self.query_one("#filterline", Label).update(join(parts, "  ·  "))

    def current_filter(self) -> LogFilter:
        return LogFilter(level=self.level, grep=re.compile(self.pattern) if self.pattern else None)

    def apply_filter(self) -> None:
        """The chosen filter, from the first line: a running filter of an older choice is
        cancelled, and whatever it still sends is dropped."""
        self._filter_gen += 1
        self._matched, self._upto, self._pending = [], 0, False
        flt = self.current_filter()
        if flt.empty:
            self.workers.cancel_group(self, "log-filter")
            self._filtering = False
            self._filtered_view(None)
            return
        self._filter_more()

    def _filter_more(self) -> None:
        """Filter the lines the current filter has not seen yet (all, after a new choice)."""
        index = self.wb.watchers.log_index
        if index is None:
            return
        if index.truncations != self._truncations or index.line_count < self._upto:
            # The log was truncated or rewritten: its line numbers start again, so does the filter.
            self._truncations = index.truncations
            self._filter_gen += 1
            self._matched, self._upto = [], 0
        self._filtering = True
        self._filter(index, self.current_filter(), self._filter_gen, self._upto, index.line_count)

    @work(thread=True, exclusive=True, group="log-filter", exit_on_error=False)
    def _filter(self, index: LogIndex, flt: LogFilter, gen: int, start: int, end: int) -> None:
        """Lines start..end that match; stops early when a newer filter cancels it."""
        worker = get_current_worker()
        rows: list[int] = []
        for n in range(start, end):
            if n % 512 == 0 and worker.is_cancelled:
                return
            if flt.matches(index.record(n)):
                rows.append(n)
        self.app.call_from_thread(self._filtered, gen, start, end, rows)

    def _filtered(self, gen: int, start: int, end: int, rows: list[int]) -> None:
        if gen != self._filter_gen or start != self._upto:
            return  # a filter the operator has since replaced
        self._filtering = False
        self.scanned += end - start
        self._matched.extend(rows)
        self._upto = end
        view = self.query_one(LogView)
        if start == 0:
            self._filtered_view(self._matched)
        else:
            view.grew()
            self._line_dirty = True
        if self._pending:  # the log grew meanwhile: its new lines next
            self._pending = False
            self._filter_more()

    def _filtered_view(self, rows: list[int] | None) -> None:
        self.query_one(LogView).set_rows(rows)
        self.update_filterline()

    _line_dirty = False

    def on_log_grew(self, message: LogGrew) -> None:
        view = self.query_one(LogView)
        if view.index is None:  # the screen was opened before the log was
            view.index = self.wb.watchers.log_index
        if view.rows is None:
            view.grew()  # every line shown (or the first pass of a filter still running)
        if self._filtering:
            self._pending = True  # filtered once the running pass is done
        elif view.rows is not None:
            self._filter_more()  # only the new lines
        self._line_dirty = True  # the counts line is redrawn on its own tick

    def _filterline_tick(self) -> None:
        if self._line_dirty:
            self._line_dirty = False
            self.update_filterline()

    def on_log_view_selected(self, message: LogView.Selected) -> None:
        index = self.wb.watchers.log_index
        if index is None:
            return
        record = index.record(message.number)
        if record.malformed:
            text = assemble(
                (f"line {message.number + 1} is not JSON:", "dim"), "\n", plain(record.display(500))
            )
        else:
            text = assemble(json.dumps(record.fields, indent=1, ensure_ascii=False)[:2000])
        self.query_one("#detail", Static).update(text)

    def action_level(self, level: str | None) -> None:
        self.level = level
        self.update_filterline(counting=True)
        self.apply_filter()

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.add_class("-open")
        box.focus()

    def action_close_search(self) -> None:
        self.query_one("#search", Input).remove_class("-open")
        self.query_one(LogView).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            re.compile(event.value)
        except re.error as exc:
            self.notify(f"not a regular expression: {exc}", severity="error")
            return
        self.pattern = event.value or None
        self.action_close_search()
        self.apply_filter()

    def action_next_error(self) -> None:
        view = self.query_one(LogView)
        index = self.wb.watchers.log_index
        if index is None:
            return
        start = (view.number_at(view.cursor) or 0) + 1
        found = index.next_match(start, lambda r: r.at_least("error"))
        if found is None:
            self.notify("no further error")
            return
        row = (
            found
            if view.rows is None
            else next((i for i, n in enumerate(view.rows) if n == found), None)
        )
        if row is None:
            self.notify("the next error is hidden by the filter")
            return
        view.action_jump(row)

    def action_toggle_follow(self) -> None:
        view = self.query_one(LogView)
        view.follow = not view.follow
        if view.follow:
            view.action_jump(-1)
        self.update_filterline()
