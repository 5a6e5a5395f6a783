"""`workbench view [FILE ...]`: the TUI log view on those files, merged by time, followed live
(with no FILE, Workbench's own log). A file that cannot be read is refused before the TUI
starts: one line, exit 2."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from workbench.commands.ui import require_terminal
    from workbench.core.logging import default_log_path
    from workbench.logs.source import LogFileError
    from workbench.ui.terminal import driver_class
    from workbench.ui.view.app import ViewApp
    from workbench.ui.view.filesource import FileSource
    from workbench.ui.view.timeline import Timeline, unique_labels

    paths = list(args.files) or [str(default_log_path())]
    sources: list[FileSource] = []
    try:
        for path, label in zip(paths, unique_labels(paths), strict=True):
            sources.append(FileSource(path, label))
    except LogFileError as exc:
        for source in sources:
            source.close()
        exc.remedy = None  # its one line says it all
        raise
    timeline = Timeline(sources)
    try:
        require_terminal()
        app = ViewApp(timeline, driver_class=driver_class())
        app.run()
        return app.return_code or 0
    finally:
        timeline.close()
