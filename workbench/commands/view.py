"""`workbench view [FILE ...]`: the TUI log view on those files, merged by time, followed live
(with no FILE, Workbench's own log). A file that cannot be read is refused before the TUI
starts: one line, exit 2."""

from __future__ import annotations

import argparse
import os


def run(args: argparse.Namespace) -> int:
    from workbench.commands.ui import require_terminal
    from workbench.core.errors import ConfigError
    from workbench.core.logging import default_log_path
    from workbench.logs.source import LogFileError, open_log
    from workbench.ui.terminal import driver_class
    from workbench.ui.view.app import ViewApp
    from workbench.ui.view.filesource import FileSource
    from workbench.ui.view.spool import Spool, label_of
    from workbench.ui.view.timeline import Timeline, unique_labels

    paths = list(args.files) or [str(default_log_path())]
    if "-" in paths:
        raise ConfigError(
            "view: - (standard input) is not read by the view: the keys come from there"
        )
    spool = Spool()
    sources: list[FileSource] = []
    try:
        labels = unique_labels([label_of(p) for p in paths])
        for path, label in zip(paths, labels, strict=True):
            os.close(open_log(path))  # refused here (one line, exit 2) if unreadable
            copy = spool.decoded(path)
            sources.append(FileSource(copy or path, label, growing=copy is not None))
    except LogFileError as exc:
        for source in sources:
            source.close()
        spool.close()
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
        spool.close()
