"""The workbench one browser tab runs under `workbench serve` (`python -m workbench.serve.child`).

Its argv is readable by every local user (ps, /proc/PID/cmdline), so the libvirt URI, which may
hold a password, comes in the environment (readable by its user only) and leaves it at once. A
served capture is unpacked once by the server; each tab reads that root as recorded: no
hypervisor but the recorded one, no actions."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.ui.config import UiConfig

CONNECT_ENV = "WORKBENCH_SERVE_CONNECT"


def child_argv(
    *,
    demo: bool = False,
    root: str | None = None,
    capture_name: str | None = None,
    allow_actions: bool = False,
    sos_name: str | None = None,
) -> list[str]:
    """The command a tab runs: this Python, this module; never a URI."""
    argv = [sys.executable, "-m", "workbench.serve.child"]
    if demo:
        argv.append("--demo")
    elif root is not None:
        argv += ["--root", root]
        if capture_name is not None:
            argv += ["--capture-name", capture_name]
        elif sos_name is not None:
            argv += ["--sos-name", sos_name]
    if allow_actions and capture_name is None and sos_name is None:  # both are read-only
        argv.append("--allow-actions")
    return argv


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench.serve.child")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--demo", action="store_true")
    target.add_argument("--root", metavar="DIR")
    parser.add_argument("--capture-name", metavar="NAME", help="DIR is this capture, unpacked")
    parser.add_argument("--sos-name", metavar="NAME", help="DIR is this sosreport's root")
    parser.add_argument("--allow-actions", action="store_true")
    return parser


@contextlib.contextmanager
def _config(args: argparse.Namespace, connect: str | None) -> Iterator[UiConfig]:
    """The same UiConfig as the CLI's for the same target (`commands.ui.ui_config`)."""
    from workbench.commands.ui import ui_config
    from workbench.target import capture_target, sos_target
    from workbench.ui.config import UiConfig

    if args.capture_name is None and args.sos_name is None:
        ns = argparse.Namespace(
            demo=args.demo, root=args.root, connect=connect, allow_actions=args.allow_actions
        )
        with ui_config(ns) as config:
            yield config
        return
    # The server unpacked it and removes it; this tab closes only what it opened.
    from workbench.core.logging import log_origin

    made = (
        capture_target(Path(args.root), args.capture_name)
        if args.capture_name is not None
        else sos_target(Path(args.root), args.sos_name)
    )
    with (
        contextlib.closing(made) as target,
        log_origin(target.label),  # its records are about the capture, as under open_target
    ):
        yield UiConfig.from_target(target)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    connect = os.environ.pop(CONNECT_ENV, None) or None  # nothing this starts inherits it
    from workbench.commands.ui import run_app

    with _config(args, connect) as config:
        return run_app(config)  # a crashed tab exits 1, as `workbench` does


if __name__ == "__main__":
    sys.exit(main())
