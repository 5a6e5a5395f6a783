"""`l` in the workbench: a small modal offering the machine's logs (ours, the kernel's, each
VM's QEMU log; for a recorded machine the ones its recording holds), space ticks, enter opens:
our own log alone is the logs screen, several are merged by time in the view screen."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, SelectionList
from textual.widgets.selection_list import Selection

from workbench.ui.plain import plain
from workbench.ui.screens.modals import MODAL_CSS

OURS = "workbench"


@dataclass(frozen=True)
class LogChoice:
    """One log on offer: its `open_source` spec (or a path), its label, and a line saying what
    it is."""

    spec: str
    label: str
    what: str


def machine_logs(
    live: bool,
    domains: list[str],
    recorded_libvirt: str | None,
    absent: Collection[str] = (),
    ours_local: bool = False,
) -> list[LogChoice]:
    """What `l` offers for a machine: ours, the kernel's, each domain's QEMU log, and for a
    recorded machine libvirt's log when it holds one; those labelled in `absent` (a recorded
    machine's logs it did not record) say so. `ours_local`: our log is this computer's, not the
    machine's (a sosreport's), and says so."""
    kernel = "this boot's kernel log" if live else "the kernel log, as recorded"
    ours = "Workbench's own log, of this computer (not the report's)" if ours_local else None
    choices = [
        LogChoice(OURS, "workbench", ours or "Workbench's own log"),
        LogChoice("kernel", "kernel", kernel),
    ]
    choices += [LogChoice(f"qemu:{d}", f"qemu:{d}", f"{d}'s QEMU log") for d in domains]
    if recorded_libvirt is not None:
        choices.append(LogChoice(recorded_libvirt, "libvirt", "libvirt's log, as recorded"))
    return [
        LogChoice(c.spec, c.label, f"{c.what} (not recorded)") if c.label in absent else c
        for c in choices
    ]


class LogPickerScreen(ModalScreen[list[LogChoice] | None]):
    """The machine's logs with checkboxes; returns the ticked ones (None: escape)."""

    BINDINGS = [
        Binding("enter", "open", "Open", priority=True),
        Binding("escape", "dismiss_none", "Close"),
    ]
    DEFAULT_CSS = (
        MODAL_CSS.format(name="LogPickerScreen")
        + """
    LogPickerScreen SelectionList { height: auto; max-height: 16; margin: 1 0; }
    """
    )

    def __init__(self, choices: list[LogChoice], ticked: str | Collection[str] = OURS) -> None:
        super().__init__()
        self.choices = choices
        # the specs ticked at first
        self.ticked = {ticked} if isinstance(ticked, str) else set(ticked)

    def compose(self) -> ComposeResult:
        width = max(len(c.label) for c in self.choices)
        with Vertical():
            yield Label("Logs of this machine, merged by time")
            yield SelectionList[int](
                *(
                    Selection(plain(f"{c.label:<{width}}  {c.what}"), i, c.spec in self.ticked)
                    for i, c in enumerate(self.choices)
                )
            )
            yield Label("[b]space[/] tick   [b]enter[/] open   [b]escape[/] close")

    def action_open(self) -> None:
        ticked = self.query_one(SelectionList).selected
        if not ticked:
            self.notify("Tick a log first (space)", severity="warning")
            return
        self.dismiss([self.choices[i] for i in sorted(ticked)])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
