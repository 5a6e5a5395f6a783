"""The `?` help, made from the keys bound where it was asked (the focused widget's, the screen's,
the app's): the footer and the help read the same bindings, so they cannot drift. It scrolls
(a small terminal shows part of it)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from workbench.ui.plain import assemble, join, plain

# What each screen is called in its help's heading.
TITLES = {
    "OverviewScreen": "Overview",
    "DetailsScreen": "Probe details",
    "VmsScreen": "VMs",
    "LogsScreen": "Workbench log",
    "MachineLogsScreen": "Logs",
    "ViewScreen": "Logs",
}
# Where a screen's keys are not enough to tell what it is for: a line under its heading.
NOTES = {
    "VmsScreen": "the actions (s, d, D, t, p, u) need --allow-actions; d, D and t ask first",
    "MachineLogsScreen": "◆ marks a line the cause catalogue explains; its remedy is in the detail",
    "ViewScreen": "◆ marks a line the cause catalogue explains; its remedy is in the detail",
}


# Textual's own screen keys (focus, copy): listed after the screen's own.
_GENERIC = {b.action for b in Screen.BINDINGS if isinstance(b, Binding)}


@dataclass(frozen=True)
class HelpRow:
    """One action's keys (as the footer shows them) and what it does."""

    keys: tuple[str, ...]
    description: str
    everywhere: bool  # the app's own binding, not this screen's


def help_rows(screen: Screen[object]) -> list[HelpRow]:
    """Every key bound on `screen` (its focused widget's, its own, the app's: the chain Textual
    dispatches keys along, and shows the footer of) with a description, one row per action, in
    the order the bindings are declared. A Textual widget's own hidden keys (a table's cursor
    keys, which shadow nothing the operator is told of) are left out, so the screen's and the
    app's meaning of a key shows (the fleet's enter opens a machine)."""
    app = screen.app
    rows: dict[tuple[int, str], tuple[list[str], str, bool]] = {}
    for node, bindings in screen._modal_binding_chain:
        builtin = type(node).__module__.startswith("textual.")
        for key, binding in bindings:
            description = binding.description or binding.tooltip
            if not description or binding.system or (builtin and not binding.show):
                continue
            if app._check_action_state(binding.action, node) is False:
                continue  # not offered now (the footer leaves it out too)
            shown = app.get_key_display(binding) or key
            slot = rows.setdefault(
                (id(node), binding.action), ([], description, isinstance(node, App))
            )
            if shown not in slot[0]:
                slot[0].append(shown)
    found = [
        (action in _GENERIC, HelpRow(tuple(keys), text, everywhere))
        for (_, action), (keys, text, everywhere) in rows.items()
    ]
    return [row for _, row in sorted(found, key=lambda pair: pair[0])]


def help_text(title: str, rows: list[HelpRow], note: str | None = None) -> Text:
    """The rows as two groups: this view's keys, then those bound everywhere."""
    width = max([len(" ".join(r.keys)) for r in rows] or [1])
    lines = [plain(f"{title} — keys", "bold")]
    if note:
        lines.append(plain(note, "dim"))
    for heading, everywhere in (("Here", False), ("Everywhere", True)):
        group = [r for r in rows if r.everywhere is everywhere]
        if not group:
            continue
        lines += [Text(), plain(heading, "bold")]
        lines.extend(
            assemble(plain(" ".join(r.keys).ljust(width), "bold"), "  ", plain(r.description))
            for r in group
        )
    lines += [Text(), plain("escape, ? or q closes; up/down/pageup/pagedown scroll", "dim")]
    return join(lines)


class HelpScreen(ModalScreen[None]):
    """The keys of the screen it was opened over; scrolls when the terminal is small."""

    BINDINGS = [Binding("escape,question_mark,q", "app.pop_screen", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, text: Text) -> None:
        super().__init__()
        self.text = text

    @classmethod
    def over(cls, screen: Screen[object], title: str | None = None) -> HelpScreen:
        """The help for `screen`, made from the keys bound there now."""
        name = type(screen).__name__
        title = title or TITLES.get(name, name.removesuffix("Screen"))
        note = NOTES.get(name)
        return cls(help_text(title, help_rows(screen), note))

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-scroll", can_focus=True):
            yield Static(self.text, id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()
