"""The merged view's screen: the timeline, a status line, a search/filter box and a detail
pane that can take focus and scroll. Merging, following, searching and filtering run in
workers; the UI thread only draws."""

from __future__ import annotations

import json
import re
import time
from array import array

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static
from textual.worker import get_current_worker

from workbench.core.text import safe_text
from workbench.logs.records import parse_line
from workbench.ui.view.timeline import Timeline, risky_pattern
from workbench.ui.widgets.merged_view import MergedView

POLL_S = 0.05  # how often a followed file is looked at
FIRST_BATCH_S = 0.02  # the merge's first batch: the first screen
BATCH_S = 0.1  # its next ones


class ViewScreen(Screen[None]):
    BINDINGS = [
        Binding("slash", "ask('search')", "Search"),
        Binding("n", "find(True)", "Next hit"),
        Binding("N", "find(False)", "Prev hit"),
        Binding("ampersand", "ask('filter')", "Filter"),
        Binding("e", "level('error', True)", "Next error"),
        Binding("E", "level('error', False)", "Prev error", show=False),
        Binding("w", "level('warning', True)", "Next warning"),
        Binding("W", "level('warning', False)", "Prev warning", show=False),
        Binding("F", "toggle_follow", "Follow"),
        Binding("d", "detail", "Detail"),
        Binding("escape", "clear", "Clear", show=False),
        Binding("q", "app.quit", "Quit"),
    ]
    DEFAULT_CSS = """
    ViewScreen #status { padding: 0 1; background: $boost; width: 1fr; }
    ViewScreen #detail { height: 8; border-top: solid $accent; padding: 0 1; }
    ViewScreen #detail:focus { border-top: double $accent; }
    ViewScreen #ask { display: none; }
    ViewScreen #ask.-open { display: block; }
    """

    def __init__(self, timeline: Timeline, problems: list[str] | None = None) -> None:
        super().__init__()
        self.timeline = timeline
        # Why a spooled source stopped (a decoding error, a journal that failed), appended by
        # the spool's threads: each is said once, as a notification.
        self.problems = problems if problems is not None else []
        self._problems_said = 0
        self.search: re.Pattern[str] | None = None
        self.filter: re.Pattern[str] | None = None
        self._asking = "search"
        self._filter_gen = 0
        self._filtering = False
        self._upto = 0  # rows the filter has looked at
        self.merged = False  # the first merge is done

    def compose(self) -> ComposeResult:
        yield Label(id="status")
        yield Input(id="ask")
        yield MergedView(self.timeline, id="lines")
        with VerticalScroll(id="detail", can_focus=True):
            yield Static(id="detail-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(MergedView).focus()
        self.update_status()
        self._merge()
        self.set_interval(1.0, self._say_problems)

    def _say_problems(self) -> None:
        for problem in self.problems[self._problems_said :]:
            self.notify(safe_text(problem), title="A source stopped", severity="warning")
        self._problems_said = len(self.problems)

    # --- merging and following -----------------------------------------------------------------

    @work(thread=True, exclusive=True, group="view-merge", exit_on_error=False)
    def _merge(self) -> None:
        """Merge in batches (the first of 20 ms, for the first screen; then of 100 ms, each
        shown as it comes: the UI thread redraws less often), then follow the files."""
        worker = get_current_worker()
        timeline = self.timeline
        budget = FIRST_BATCH_S
        while not timeline.complete and not worker.is_cancelled:
            if timeline.step(budget):
                self.app.call_from_thread(self._grew)
            budget = BATCH_S
        self.app.call_from_thread(self._merged)
        while not worker.is_cancelled:
            if timeline.poll():
                self.app.call_from_thread(self._grew)
            else:
                time.sleep(POLL_S)  # a thread worker: never the UI thread

    def _merged(self) -> None:
        self.merged = True
        self._grew()
        view = self.query_one(MergedView)
        view.action_jump(view.cursor)  # the explained rows' marks, the cursor row's detail

    def _grew(self) -> None:
        view = self.query_one(MergedView)
        if view.rows is None:
            view.grew()
        elif not self._filtering:
            self._filter_more()
        self.update_status()

    def update_status(self) -> None:
        view = self.query_one(MergedView)
        parts = [f"{len(self.timeline.active)} source(s)", f"{view.count()} line(s)"]
        if not self.merged:
            parts[-1] += " …"
        if self.filter is not None:
            parts.append(f"&{self.filter.pattern}")
        if self.search is not None:
            parts.append(f"/{self.search.pattern}")
        if self.timeline.explained:
            parts.append(f"◆ {len(self.timeline.explained)} explained")
        parts.append("following" if view.follow else "paused")
        self.query_one("#status", Label).update(Text(safe_text("  ·  ".join(parts))))

    # --- the detail pane -----------------------------------------------------------------------

    def on_merged_view_selected(self, message: MergedView.Selected) -> None:
        self.update_status()
        row = message.row
        timeline = self.timeline
        raw = timeline.raw(row)
        record = parse_line(row, raw)
        text = Text()
        text.append(f"{safe_text(timeline.label(row))} line {timeline.num[row]}\n", "bold")
        cause = timeline.explained.get(row)
        if cause is not None:
            text.append(f"◆ {safe_text(cause.title)} ({cause.code})\n", "magenta bold")
            text.append(f"remedy: {safe_text(cause.remedy, multiline=True)}\n")
        if record.malformed:
            text.append(safe_text(record.raw[:4000]))
        else:
            dump = json.dumps(record.fields, indent=1, ensure_ascii=False)[:4000]
            text.append(safe_text(dump, multiline=True))
        self.query_one("#detail-text", Static).update(text)

    def action_detail(self) -> None:
        """The detail pane takes focus (its keys scroll it); again, back to the lines."""
        detail = self.query_one("#detail", VerticalScroll)
        if detail.has_focus:
            self.query_one(MergedView).focus()
        else:
            detail.focus()

    # --- search, filter, levels ----------------------------------------------------------------

    def action_ask(self, what: str) -> None:
        self._asking = what
        box = self.query_one("#ask", Input)
        box.placeholder = f"{what}: a regular expression, enter to apply, escape to cancel"
        box.value = ""
        box.add_class("-open")
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            pattern = re.compile(event.value) if event.value else None
        except re.error as exc:
            self.notify(f"not a regular expression: {exc}", severity="error")
            return
        risk = risky_pattern(event.value)
        if risk is not None:
            self.notify(f"not applied: {risk}", severity="error")
            return
        self._close_box()
        if self._asking == "filter":
            self.filter = pattern
            self._apply_filter()
        else:
            self.search = pattern
            self.query_one(MergedView).pattern = pattern
            self.query_one(MergedView).refresh()
            if pattern is not None:
                self.action_find(True)
        self.update_status()

    def _close_box(self) -> None:
        self.query_one("#ask", Input).remove_class("-open")
        self.query_one(MergedView).focus()

    def action_clear(self) -> None:
        """Escape: closes the box if open, else clears the search and the filter."""
        box = self.query_one("#ask", Input)
        if box.has_class("-open"):
            self._close_box()
            return
        view = self.query_one(MergedView)
        self.search = view.pattern = None
        if self.filter is not None:
            self.filter = None
            self._apply_filter()
        view.refresh()
        self.update_status()

    def action_find(self, forward: bool) -> None:
        """The next (or previous) hit from the cursor, wrapping round the ends like less and
        vim: the view opens following, at the last line, and a hit above it is found."""
        if self.search is None:
            self.notify("no search: / to search")
            return
        view = self.query_one(MergedView)
        self._find(self.search, view.cursor, forward, view.rows)

    @work(thread=True, exclusive=True, group="view-find", exit_on_error=False)
    def _find(
        self, pattern: re.Pattern[str], cursor: int, forward: bool, rows: array[int] | None
    ) -> None:
        start = cursor + 1 if forward else cursor - 1
        found = self.timeline.find(pattern, start, forward, rows)
        if found is not None:
            self.app.call_from_thread(self._found, found, "")
            return
        count = len(self.timeline) if rows is None else len(rows)
        # round the end: from the other end up to the cursor (the cursor's own line last)
        again = self.timeline.find(pattern, 0 if forward else count - 1, forward, rows, cursor)
        if again is not None:
            self.app.call_from_thread(self._wrapped, again, forward)
        else:
            self.app.call_from_thread(self._found, None, f"no hit for /{pattern.pattern}")

    def _wrapped(self, pos: int, forward: bool) -> None:
        end = "bottom" if forward else "top"
        self.notify(f"wrapped: search hit {end}, continued at {'top' if forward else 'bottom'}")
        self._found(pos, "")

    def _found(self, pos: int | None, missing: str) -> None:
        if pos is None:
            self.notify(missing)
            return
        self.query_one(MergedView).action_jump(pos)

    def action_level(self, level: str, forward: bool) -> None:
        view = self.query_one(MergedView)
        found = self.timeline.next_level(level, view.cursor, forward, view.rows)
        self._found(found, f"no {'further' if forward else 'earlier'} {level}")

    def action_toggle_follow(self) -> None:
        view = self.query_one(MergedView)
        view.follow = not view.follow
        if view.follow:
            view.action_jump(-1)
        self.update_status()

    def _apply_filter(self) -> None:
        self._filter_gen += 1
        self._upto = 0
        view = self.query_one(MergedView)
        if self.filter is None:
            self.workers.cancel_group(self, "view-filter")
            self._filtering = False
            view.set_rows(None)
            return
        view.rows = array("L")
        self._filter_more()

    def _filter_more(self) -> None:
        if self.filter is None:
            return
        self._filtering = True
        self._filter(self.filter, self._filter_gen, self._upto, len(self.timeline))

    @work(thread=True, exclusive=True, group="view-filter", exit_on_error=False)
    def _filter(self, pattern: re.Pattern[str], gen: int, start: int, stop: int) -> None:
        worker = get_current_worker()
        if start >= stop:  # nothing new: the pass is done all the same
            self.app.call_from_thread(self._filtered, gen, [], stop, stop)
        for a in range(start, stop, 4096):
            if worker.is_cancelled:
                return
            rows = self.timeline.matching(pattern, a, min(stop, a + 4096))
            self.app.call_from_thread(self._filtered, gen, rows, min(stop, a + 4096), stop)

    def _filtered(self, gen: int, rows: list[int], upto: int, stop: int) -> None:
        if gen != self._filter_gen:
            return  # a filter since replaced
        view = self.query_one(MergedView)
        if view.rows is None:
            return
        first = self._upto == 0 and not view.rows
        view.rows.extend(rows)
        self._upto = upto
        if upto >= stop:
            self._filtering = False
            if len(self.timeline) > upto:
                self._filter_more()
        view.refresh_size()
        if first or view.follow:
            view._jump(-1 if view.follow else 0, announce=first)
        self.update_status()
