"""What every workbench screen shares: typed access to the app's state, the StateChanges it follows,
and its workers' failures handed to the app's one handler."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.screen import Screen
from textual.worker import Worker

from workbench.ui.messages import StateChange

if TYPE_CHECKING:
    from workbench.ui.app import WorkbenchApp


class WorkbenchScreen(Screen[None]):
    # The StateChanges the app hands this screen (to its on_* handlers) while it is on show; the
    # others it reads afresh when shown again.
    FOLLOWS: ClassVar[tuple[type[StateChange], ...]] = ()

    @property
    def wb(self) -> WorkbenchApp:
        """The app, typed: the shared state (results, domains, log index) lives in its parts."""
        return cast("WorkbenchApp", self.app)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker run from this screen reports to the app, like every other."""
        self.wb.on_worker_state_changed(event)
