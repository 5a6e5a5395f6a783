"""One machine's workbench, opened from the fleet: the ordinary WorkbenchApp, and escape
returns to the fleet table."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.binding import Binding, BindingType

from workbench.ui.app import WorkbenchApp


class FleetWorkbenchApp(WorkbenchApp):
    """WorkbenchApp with escape = back to the fleet (screens' own escape comes first)."""

    CSS_PATH = str(Path(__file__).resolve().parent.parent / "workbench.tcss")  # the app's own

    BINDINGS: ClassVar[list[BindingType]] = [
        *WorkbenchApp.BINDINGS,
        Binding("escape", "to_fleet", "Fleet", id="fleet.back"),
    ]

    def action_to_fleet(self) -> None:
        self.exit(0)
