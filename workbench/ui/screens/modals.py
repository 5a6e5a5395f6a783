"""Small modal screens: confirm a destructive action, choose a fallback, help."""

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
                    disabled=why is not None,
                )
                for name, why in self.choices
            ]
            yield OptionList(*options, id="choices")
            yield Label("[dim]enter: use it   escape: close[/]")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


HELP = """[b]Workbench[/] — keys

[b]o[/] overview   [b]v[/] VMs   [b]l[/] logs   [b]?[/] this help   [b]ctrl+p[/] commands   [b]q[/] quit

[b]Overview[/]   enter: probe details   R: rerun every probe
[b]Details[/]    r: retry now   b: retry with backoff (countdown)   x: cancel   escape: back
[b]VMs[/]        f: display fallback chooser   with --allow-actions: s start, d shutdown,
             D force off, t reboot, p suspend, u resume (d, D and t ask first)
[b]Logs[/]       e: errors   w: warnings and up   a: everything   /: search
             n: next error   F: follow on/off   enter: record details
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "app.pop_screen", "Close")]
    DEFAULT_CSS = MODAL_CSS.format(name="HelpScreen").replace("width: 70", "width: 90")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(HELP)
