"""What every workbench screen shares: typed access to the app's state."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.screen import Screen

if TYPE_CHECKING:
    from workbench.ui.app import WorkbenchApp


class WorkbenchScreen(Screen[None]):
    @property
    def wb(self) -> WorkbenchApp:
        """The app, typed: the shared state (results, domains, log index) lives there."""
        return cast("WorkbenchApp", self.app)
