"""The `workbench view` application: one screen, the merged timeline."""

from __future__ import annotations

from textual.app import App

from workbench.ui.view.screen import ViewScreen
from workbench.ui.view.timeline import Timeline


class ViewApp(App[None]):
    TITLE = "workbench view"

    def __init__(
        self, timeline: Timeline, problems: list[str] | None = None, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.timeline = timeline
        self.problems = problems  # why a spooled source stopped (the spool's list)

    def on_mount(self) -> None:
        self.push_screen(ViewScreen(self.timeline, self.problems))
