"""`workbench` (no command) and `workbench demo`: the Textual workbench."""

from __future__ import annotations

import argparse
import contextlib
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.commands.common import usage_error

if TYPE_CHECKING:
    from workbench.ui.config import UiConfig


@contextlib.contextmanager
def ui_config(
    args: argparse.Namespace, ready: Callable[[], None] = lambda: None
) -> Iterator[UiConfig]:
    """The UiConfig for these arguments (with the demo's environment around it). `ready` is
    called once what the user named is known usable, before anything is started (the CLI
    checks for a terminal there)."""
    from workbench.core.host import Host
    from workbench.core.logging import default_log_path
    from workbench.ui.config import UiConfig

    # The log file is set up by the first record (on a worker thread, after the first frame).
    log_path = default_log_path()
    if getattr(args, "demo", False):
        from workbench.demo import demo_environment

        ready()
        with demo_environment() as env:
            yield UiConfig(
                root=str(env.root),
                connect=env.uri,
                allow_actions=args.allow_actions,
                log_path=log_path,
                title="Workbench — demo machine",
                owns_process=True,
            )
        return
    if getattr(args, "capture", None):
        from workbench.capture.collectors import LOG_MEMBER
        from workbench.capture.unpack import open_capture

        with open_capture(args.capture) as root:  # refused with exit 2 before the UI starts
            ready()
            log = root / LOG_MEMBER
            yield UiConfig(
                root=str(root),
                connect=None,
                log_path=log if log.is_file() else None,
                title=f"Workbench — capture {Path(args.capture).name}",
                owns_process=True,
            )
        return
    host = Host(args.root)  # refuses a missing root with a clear error before the UI starts
    ready()
    connect = args.connect or ("qemu:///system" if host.live else None)
    yield UiConfig(
        root=str(host.root),
        connect=connect,
        allow_actions=args.allow_actions,
        log_path=log_path,
        owns_process=True,
    )


def require_terminal() -> None:
    """Refuse (exit 2, one line) where the workbench cannot be drawn: checked once what the
    user named is known to be usable, before anything is started."""
    from workbench.core.errors import ConfigError
    from workbench.ui.terminal import terminal_problem

    problem = terminal_problem()
    if problem is not None:
        raise ConfigError(
            f"the workbench needs a terminal ({problem})",
            code="NO_TERMINAL",
            remedy="for a report without one, run `workbench probe`",
        )


def run(args: argparse.Namespace) -> int:
    try:
        from workbench.ui.app import WorkbenchApp
        from workbench.ui.terminal import driver_class
    except ImportError as exc:  # pragma: no cover - textual is a dependency
        return usage_error(f"the workbench UI needs textual: {exc}")
    with ui_config(args, ready=require_terminal) as config:
        app = WorkbenchApp(config, driver_class=driver_class())
        # A closed terminal (SIGHUP) or a kill (SIGTERM) quits like `q`: the demo's agent is
        # stopped and its temporary files removed, nothing is left behind.
        for sig in (signal.SIGHUP, signal.SIGTERM):
            signal.signal(sig, lambda _signum, _frame: app.exit())
        app.run()
    # Textual reports an exception inside the app and sets 1: a crash must not look like `q`.
    return app.return_code or 0
