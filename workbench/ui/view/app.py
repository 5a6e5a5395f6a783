"""The `workbench view` application: one screen, the merged timeline."""

from __future__ import annotations

from textual.app import App

from workbench.ui.view.screen import ViewScreen
from workbench.ui.view.timeline import Timeline


class ViewApp(App[None]):
    TITLE = "workbench view"

    def __init__(self, timeline: Timeline, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.timeline = timeline

    def on_mount(self) -> None:
        self.push_screen(ViewScreen(self.timeline))
