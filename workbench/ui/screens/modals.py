"""Small modal screens: confirm a destructive action, choose a fallback (the help is\nscreens/help.py)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from workbench.ui.plain import assemble, plain

MODAL_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 70; max-width: 95%; height: auto; border: thick $accent;
    background: $surface; padding: 1 2; }}
"""


class ConfirmScreen(ModalScreen[bool]):
    """y / n for an action that cannot be undone."""

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]
    DEFAULT_CSS = MODAL_CSS.format(name="ConfirmScreen")

    def __init__(self, question: Text) -> None:
        super().__init__()
        self.question = question  # names a VM: text, never markup

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question)  # wraps: a question may be long
            yield Label("[b]y[/] yes   [b]n[/] no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class FallbackScreen(ModalScreen[str | None]):
    """The alternatives of a fallback chain with their availability; returns the chosen name."""

    BINDINGS = [Binding("escape", "dismiss_none", "Close")]
    DEFAULT_CSS = MODAL_CSS.format(name="FallbackScreen")

    def __init__(self, title: Text, choices: list[tuple[str, str | None]]) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            options = [
                Option(
                    assemble(plain(name), "  ", ("available", "green"))
                    if why is None
                    else assemble(plain(name), "  ", plain(f"unavailable: {why}", "dim")),
                    id=name,
                )
                for name, why in self.choices
            ]
            yield OptionList(*options, id="choices")
            yield Label("[dim]enter: use it (an unavailable one says why)   escape: close[/]")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """An available choice is used; an unavailable one says why, and the chooser stays
        (each can be selected: a disabled option would take Enter and say nothing)."""
        why = dict(self.choices).get(event.option.id or "")
        if why is not None:
            self.app.notify(f"{event.option.id} is unavailable: {why}", severity="warning")
            return
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
