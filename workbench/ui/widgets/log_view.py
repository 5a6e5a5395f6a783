"""A log view on the Line API: renders only the visible lines, whatever the file's size."""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from workbench.logs.index import LogIndex
from workbench.logs.render import render

LEVEL_STYLE = {
    "trace": Style(dim=True),
    "debug": Style(dim=True),
    "info": Style(),
    "notice": Style(color="cyan"),
    "warning": Style(color="yellow"),
    "error": Style(color="red"),
    "critical": Style(color="red", bold=True),
}
MALFORMED = Style(dim=True, italic=True)
CURSOR = Style(reverse=True)


class LogView(ScrollView, can_focus=True):
    """Lines of a LogIndex (all of them, or the chosen line numbers), with a cursor."""

    BINDINGS = [
        # The keys less, vim and lnav users already have (j/k, space/b, g/G) too.
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup,b", "move(-20)", "Page up", show=False),
        Binding("pagedown,space", "move(20)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
    ]
    DEFAULT_CSS = "LogView { height: 1fr; }"

    cursor: reactive[int] = reactive(0)

    @dataclass
    class Selected(Message):
        """The cursor moved to line `number` of the file."""

        number: int

    def __init__(self, index: LogIndex | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.index = index
        self.rows: list[int] | None = None  # None: every indexed line
        self.follow = True

    def _count(self) -> int:
        if self.index is None:
            return 0
        return self.index.line_count if self.rows is None else len(self.rows)

    def number_at(self, row: int) -> int | None:
        if self.index is None or not 0 <= row < self._count():
            return None
        return row if self.rows is None else self.rows[row]

    def set_rows(self, rows: list[int] | None) -> None:
        """Show only these line numbers (None: all lines)."""
        self.rows = rows
        self.refresh_size()
        self.action_jump(-1 if self.follow else 0)

    def refresh_size(self) -> None:
        self.virtual_size = Size(self.size.width, self._count())
        self.refresh()

    def grew(self) -> None:
        """More lines were indexed: keep the end in view when following."""
        self.refresh_size()
        if self.follow:
            if self.size.height:
                self._jump(-1, announce=False)  # laid out already: no need to wait a frame
            else:
                self.call_after_refresh(self._jump, -1, False)

    def render_line(self, y: int) -> Strip:
        row = self.scroll_offset.y + y
        number = self.number_at(row)
        width = self.size.width
        if number is None or self.index is None:
            return Strip.blank(width)
        record = self.index.record(number)
        style = MALFORMED if record.malformed else LEVEL_STYLE.get(record.level or "", Style())
        if row == self.cursor:
            style = style + CURSOR
        # A log holds whatever its writers put there: render() escapes every field it shows.
        text = render(record, width=max(width, 10))
        return Strip([Segment(text[:width].ljust(width), style)], width)

    def action_move(self, delta: int) -> None:
        self.action_jump(max(0, min(self._count() - 1, self.cursor + delta)))

    def action_jump(self, row: int) -> None:
        self._jump(row, announce=True)

    def _jump(self, row: int, announce: bool) -> None:
        """Move the cursor (and the view) to `row`; -1 is the last line. Following new lines
        does not announce each move: the detail pane would be rebuilt a hundred times a second."""
        count = self._count()
        if count == 0:
            self.cursor = 0
            return
        self.cursor = count - 1 if row < 0 else min(row, count - 1)
        self.follow = self.cursor == count - 1
        top = self.scroll_offset.y
        height = max(1, self.size.height)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)
        self.refresh()
        number = self.number_at(self.cursor)
        if number is not None and announce:
            self.post_message(self.Selected(number))
