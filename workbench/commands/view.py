"""`workbench view [SOURCE ...]`: the TUI log view on those sources (files, `-`, the kernel's
log, a VM's QEMU log, a journal unit), merged by time, followed live (with no source, our own
log). A file is read in place (a compressed one decoded into a spool); a streamed source is
spooled by a thread into a private file, so the view's random access works on every source.
A source that cannot be read is refused before the TUI starts: one line, exit 2."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from workbench.core.errors import ConfigError

if TYPE_CHECKING:
    from workbench.core.host import Host


def specs_of(args: argparse.Namespace) -> list[str]:
    """The sources named, as `open_source` specs, in the order given."""
    specs = list(args.sources)
    if args.kernel:
        specs.append("kernel")
    specs += [f"qemu:{name}" for name in args.qemu or ()]
    specs += [f"journal:{unit}" for unit in args.journal or ()]
    # A source named twice is read once; `-` twice stays, to be refused as such.
    return [s for i, s in enumerate(specs) if s == "-" or s not in specs[:i]]


def run(args: argparse.Namespace) -> int:
    specs = specs_of(args)
    if specs.count("-") > 1:
        raise ConfigError("view: - (standard input) can be given once")
    capture = getattr(args, "capture", None)
    sos = getattr(args, "sos", None)
    if capture is not None and args.sources:
        raise ConfigError("view: give a log FILE or --capture FILE, not both")
    if sos is not None and args.sources:
        raise ConfigError("view: give a log FILE or --sos FILE|DIR, not both")
    stdin = None
    if "-" in specs:
        if sys.stdin is not None and sys.stdin.isatty():
            raise ConfigError("view: - reads standard input, the terminal here: pipe a log in")
        stdin = take_stdin()
    with _host(capture, specs, sos) as host:
        return _run(specs or ["workbench"], host, stdin)


@contextlib.contextmanager
def _host(capture: str | None, specs: list[str], sos: str | None = None) -> Iterator[Host | None]:
    """The recorded machine of `--capture` (its recorded log when no source is named) or of
    `--sos` (its kernel log when none is), or None: the live one."""
    if capture is None and sos is None:
        yield None
        return
    from workbench.commands.logs import check_report_sources, recorded_default
    from workbench.target import open_target

    with open_target(capture=capture, sos=sos) as target:
        if not specs:
            specs.append(recorded_default(target))
        check_report_sources(target, specs)
        yield target.host


def _run(specs: list[str], host: Host | None, stdin: BinaryIO | None) -> int:
    from workbench.commands.ui import require_terminal
    from workbench.logs.source import LogFileError
    from workbench.ui.terminal import driver_class
    from workbench.ui.view.app import ViewApp
    from workbench.ui.view.opening import open_view_sources
    from workbench.ui.view.spool import Spool
    from workbench.ui.view.timeline import Timeline

    spool = Spool()
    try:
        sources = open_view_sources(specs, host, spool, stdin)
    except LogFileError as exc:
        spool.close()
        exc.remedy = None  # its one line says it all
        raise
    except ConfigError:
        spool.close()
        raise
    timeline = Timeline(sources)
    try:
        require_terminal()  # after the sources: a bad one is said first
        app = ViewApp(timeline, spool.problems, driver_class=driver_class())
        app.run()
        return app.return_code or 0
    finally:
        timeline.close()
        spool.close()


def take_stdin() -> BinaryIO:
    """Standard input carries the log: it moves to a descriptor of its own (returned), and the
    terminal takes its place as fd 0, where the view reads its keys. ConfigError without a
    terminal."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError as exc:
        raise ConfigError(f"view: - needs a terminal for the keys: /dev/tty: {exc}") from exc
    data = os.dup(0)
    os.dup2(tty, 0)
    os.close(tty)
    sys.stdin = os.fdopen(os.dup(0), "r")
    return os.fdopen(data, "rb", buffering=0)
