"""The merged timeline on the Line API: only the visible rows are read and drawn, each marked
with its source (and ◆ when the cause catalogue explains it), a search's hits highlighted,
scrolled sideways or wrapped."""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from workbench.core.text import safe_text
from workbench.logs.records import LEVELS
from workbench.ui.view.timeline import Timeline

RANK_STYLE = {
    i: style
    for i, style in enumerate(
        {
            "trace": Style(dim=True),
            "debug": Style(dim=True),
            "info": Style(),
            "notice": Style(color="cyan"),
            "warning": Style(color="yellow"),
            "error": Style(color="red"),
            "critical": Style(color="red", bold=True),
        }.get(name, Style())
        for name in LEVELS
    )
}
CURSOR = Style(reverse=True)
HIT = Style(bgcolor="yellow", color="black", bold=True)
SOURCE = Style(color="cyan")
EXPLAINED = Style(color="magenta", bold=True)
LABEL_WIDTH = 14
WRAP_ROWS = 12  # at most this many screen lines for one wrapped row
SIDEWAYS = 8  # columns per left/right


class MergedView(ScrollView, can_focus=True):
    """Rows of a Timeline (all of them, or the chosen ones), with a cursor."""

    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup,b", "page(-1)", "Page up", show=False),
        Binding("pagedown,space", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "Top", show=False),
        Binding("end,G", "jump(-1)", "Bottom", show=False),
        Binding("left", "sideways(-1)", "Left", show=False),
        Binding("right", "sideways(1)", "Right", show=False),
        Binding("ctrl+w", "toggle_wrap", "Wrap"),
    ]
    DEFAULT_CSS = "MergedView { height: 1fr; scrollbar-size-horizontal: 0; }"

    cursor: reactive[int] = reactive(0)

    @dataclass
    class Selected(Message):
        """The cursor moved to this row of the timeline."""

        row: int

    def __init__(self, timeline: Timeline, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.timeline = timeline
        self.rows: array[int] | None = None  # None: every row
        self.follow = True
        self.wrap = False
        self.column = 0  # the first column shown (sideways scroll)
        self.pattern: re.Pattern[str] | None = None  # highlighted
        labels = [safe_text(s.label) for s in timeline.sources]
        self.label_width = min(LABEL_WIDTH, max((len(x) for x in labels), default=1))

    def count(self) -> int:
        return len(self.timeline) if self.rows is None else len(self.rows)

    def row_at(self, pos: int) -> int | None:
        if not 0 <= pos < self.count():
            return None
        return pos if self.rows is None else self.rows[pos]

    def set_rows(self, rows: array[int] | None) -> None:
        """Show only these rows (None: all)."""
        self.rows = rows
        self.refresh_size()
        self._jump(-1 if self.follow else 0, announce=True)

    def refresh_size(self) -> None:
        # Sideways is `column`; wrapped, any row can be the top one (rows take several lines).
        extra = max(0, self.size.height - 1) if self.wrap else 0
        self.virtual_size = Size(self.size.width, self.count() + extra)
        self.refresh()

    def grew(self) -> None:
        """More rows: keep the end in view when following."""
        self.refresh_size()
        if self.follow:
            if self.size.height and not self.wrap:  # wrapped: the scroll range changes first
                self._jump(-1, announce=False)
            # again once the new scroll range applies: before the first layout a scroll is
            # clamped to the old range, and the cursor's row would be left off screen
            self.call_after_refresh(self._jump, -1, False)

    # --- drawing -------------------------------------------------------------------------------

    def _text(self, row: int) -> tuple[str, int]:
        """The row's text (marker, source, line) and where its line starts."""
        mark = "◆" if row in self.timeline.explained else " "
        label = safe_text(self.timeline.label(row))[: self.label_width].ljust(self.label_width)
        head = f"{mark}{label} "
        return head + self.timeline.shown(row), len(head)

    def _segments(self, row: int, text: str, head: int, start: int, width: int) -> Strip:
        style = RANK_STYLE.get(self.timeline.levels[row], Style())
        cursor = row == self.row_at(self.cursor)
        spans: list[tuple[int, int, Style]] = [(1, head, SOURCE)]
        if row in self.timeline.explained:
            spans.append((0, 1, EXPLAINED))
        if self.pattern is not None:
            spans += [(m.start(), m.end(), HIT) for m in self.pattern.finditer(text, head)]
        shown = text[start : start + width].ljust(width)
        segments = []
        pos = 0
        for a, b, span_style in sorted(spans, key=lambda s: s[0]):
            a, b = max(a - start, pos), min(b - start, width)
            if a >= b:
                continue
            if a > pos:
                segments.append(Segment(shown[pos:a], style))
            segments.append(Segment(shown[a:b], style + span_style))
            pos = b
        if pos < width:
            segments.append(Segment(shown[pos:], style))
        strip = Strip(segments, width)
        return strip.apply_style(CURSOR) if cursor else strip

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self.wrap:
            return self._wrapped_line(y, width)
        row = self.row_at(self.scroll_offset.y + y)
        if row is None:
            return Strip.blank(width)
        text, head = self._text(row)
        if self.column:  # sideways: the marker and the source stay, the line moves
            fixed = self._segments(row, text, head, 0, head)
            moved = self._segments(row, text, head, head + self.column, max(0, width - head))
            return Strip.join([fixed, moved])
        return self._segments(row, text, head, 0, width)

    def _wrapped_line(self, y: int, width: int) -> Strip:
        """Screen line `y` when each row takes the lines it needs (from the top row down)."""
        pos = self.scroll_offset.y
        while True:
            row = self.row_at(pos)
            if row is None:
                return Strip.blank(width)
            text, head = self._text(row)
            used = min(WRAP_ROWS, max(1, -(-len(text) // max(1, width))))
            if y < used:
                return self._segments(row, text, head, y * width, width)
            y -= used
            pos += 1

    # --- moving --------------------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        self.action_jump(max(0, min(self.count() - 1, self.cursor + delta)))

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(1, self.size.height - 1))

    def action_jump(self, pos: int) -> None:
        self._jump(pos, announce=True)

    def action_sideways(self, direction: int) -> None:
        if not self.wrap:
            self.column = max(0, self.column + direction * SIDEWAYS)
            self.refresh()

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap
        self.column = 0
        self.refresh_size()
        self.call_after_refresh(self._jump, self.cursor, False)  # once the new size applies

    def _used(self, pos: int, width: int) -> int:
        row = self.row_at(pos)
        return 0 if row is None else min(WRAP_ROWS, max(1, -(-len(self._text(row)[0]) // width)))

    def _fitting(self, top: int, height: int) -> int:
        """How many rows from `top` down fit whole on the screen when wrapped."""
        width, rows, used = max(1, self.size.width), 0, 0
        while top + rows < self.count():
            used += self._used(top + rows, width)
            if used > height:
                break
            rows += 1
        return rows

    def _fitting_up(self, bottom: int, height: int) -> int:
        """How many rows from `bottom` up fit whole on the screen when wrapped (at least 1)."""
        width, rows, used = max(1, self.size.width), 0, 0
        while bottom - rows >= 0:
            used += self._used(bottom - rows, width)
            if used > height:
                break
            rows += 1
        return max(1, rows)

    def _jump(self, pos: int, announce: bool) -> None:
        """Cursor (and view) to `pos`; -1 is the last row. Following new rows does not announce
        each move (the detail pane would be rebuilt for every line)."""
        count = self.count()
        if count == 0:
            self.cursor = 0
            self.refresh()
            return
        self.cursor = count - 1 if pos < 0 else min(pos, count - 1)
        self.follow = self.cursor == count - 1
        top = self.scroll_offset.y
        height = max(1, self.size.height)
        if self.wrap:  # a wrapped row takes the lines it needs
            if self.cursor < top:
                self.scroll_to(y=self.cursor, animate=False)
            elif self.cursor >= top + self._fitting(top, height):  # the cursor's row at the foot
                self.scroll_to(
                    y=self.cursor - self._fitting_up(self.cursor, height) + 1, animate=False
                )
        elif self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)
        self.refresh()
        row = self.row_at(self.cursor)
        if row is not None and announce:
            self.post_message(self.Selected(row))
