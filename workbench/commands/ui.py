"""`workbench` (no command) and `workbench demo`: the Textual workbench."""

from __future__ import annotations

import argparse
import contextlib
import signal
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from workbench.commands.common import usage_error

if TYPE_CHECKING:
    from workbench.ui.config import UiConfig


@contextlib.contextmanager
def ui_config(
    args: argparse.Namespace, ready: Callable[[], None] = lambda: None
) -> Iterator[UiConfig]:
    """The UiConfig of the target these arguments name (kept open around it). `ready` is
    called once what the user named is known usable, before anything is started (the CLI
    checks for a terminal there): for the demo, before its agent starts."""
    from workbench.target import open_target
    from workbench.ui.config import UiConfig

    demo = bool(getattr(args, "demo", False))
    if demo:
        ready()
    with open_target(
        root=getattr(args, "root", None),
        capture=getattr(args, "capture", None),
        sos=getattr(args, "sos", None),
        connect=getattr(args, "connect", None),
        demo=demo,
    ) as target:  # a missing root or a bad capture is refused (exit 2) before the UI starts
        if not demo:
            ready()
        yield UiConfig.from_target(
            target, allow_actions=bool(getattr(args, "allow_actions", False))
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


def run_app(config: UiConfig) -> int:
    """Run the workbench until it quits (the CLI's and each `workbench serve` tab's loop)."""
    from workbench.ui.app import WorkbenchApp
    from workbench.ui.terminal import driver_class

    app = WorkbenchApp(config, driver_class=driver_class())
    # A closed terminal (SIGHUP) or a kill (SIGTERM) quits like `q`: the demo's agent is
    # stopped and its temporary files removed, nothing is left behind.
    for sig in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, lambda _signum, _frame: app.exit())
    app.run()
    # Textual reports an exception inside the app and sets 1: a crash must not look like `q`.
    return app.return_code or 0


def run(args: argparse.Namespace) -> int:
    try:
        import workbench.ui.app  # noqa: F401 - said here, before the target is opened
    except ImportError as exc:  # pragma: no cover - textual is a dependency
        return usage_error(f"the workbench UI needs textual: {exc}")
    with ui_config(args, ready=require_terminal) as config:
        return run_app(config)
