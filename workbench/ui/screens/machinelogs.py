"""The machine's logs chosen in the picker, merged by time in the view screen (inside the
workbench: `q` goes back, and closes the sources and their spool). Opening them (a journal's
process, /dev/kmsg, a recorded file) runs on a worker thread, never the UI thread."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from textual.binding import Binding

from workbench.core.errors import WorkbenchError
from workbench.logs.source import LogFileError
from workbench.ui.screens.logpicker import OURS, LogChoice
from workbench.ui.view.filesource import FileSource
from workbench.ui.view.opening import open_view_sources
from workbench.ui.view.screen import ViewScreen
from workbench.ui.view.spool import Spool
from workbench.ui.view.timeline import Timeline

if TYPE_CHECKING:
    from pathlib import Path

    from textual.worker import Worker

    from workbench.core.host import Host


CLOSE_WAIT_S = 5.0  # at most this long for the merge worker to stop


class MachineLogsScreen(ViewScreen):
    """The merged view of the chosen logs; `q` back to the workbench."""

    BINDINGS = [Binding("q", "back", "Back")]

    def __init__(self, timeline: Timeline, spool: Spool) -> None:
        super().__init__(timeline, spool.problems)
        self.spool = spool

    def action_back(self) -> None:
        self.dismiss(None)

    def on_unmount(self) -> None:
        """The spool goes at once (its files stay readable through the descriptors open on
        them); the sources are closed by a thread once the merge worker has seen it is
        cancelled (a descriptor closed under its read would be its error)."""
        merging = [w for w in self.app.workers if w.node is self]
        self.app.workers.cancel_node(self)
        self.spool.close()
        threading.Thread(target=_close_after, args=(merging, self.timeline), daemon=True).start()


def _close_after(workers: list[Worker[object]], timeline: Timeline) -> None:
    deadline = time.monotonic() + CLOSE_WAIT_S
    while any(not w.is_finished for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    timeline.close()


def open_chosen(
    choices: list[LogChoice], host: Host, own_log: Path | None
) -> tuple[Timeline, Spool, list[str]]:
    """The chosen logs opened (each one that cannot be read left out, with why), merged in a
    timeline; run on a worker thread."""
    spool = Spool()
    sources: list[FileSource] = []
    problems: list[str] = []
    for choice in choices:
        spec = choice.spec
        if spec == OURS:
            if own_log is None or not own_log.exists():
                problems.append("workbench: no log yet")
                continue
            spec = str(own_log)
        try:
            sources += open_view_sources(
                [spec], None if host.live else host, spool, None, [choice.label]
            )
        except (LogFileError, WorkbenchError, OSError) as exc:
            problems.append(f"{choice.label}: {exc}")
    return Timeline(sources), spool, problems
