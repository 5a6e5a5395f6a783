"""`workbench serve`: the workbench in a browser (textual-serve), on loopback unless told."""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from workbench.commands.common import say, usage_error
from workbench.core.text import parse_uint
from workbench.serve.access import is_loopback
from workbench.serve.child import CONNECT_ENV, child_argv

MAX_SESSIONS = 64  # each session is a Python process (~45 MB)


@contextlib.contextmanager
def sessions_of(args: argparse.Namespace) -> Iterator[tuple[list[str], dict[str, str]]]:
    """What each tab runs (argv, extra environment). A capture is unpacked once, here (a
    sosreport made into a machine root once), and removed when serve exits; the URI (maybe
    with a password) goes in the environment."""
    from workbench.target import open_target

    actions = bool(args.allow_actions)
    if args.demo:  # each tab builds its own demo (its own hypervisor and agent)
        yield child_argv(demo=True, allow_actions=actions), {}
        return
    sos = getattr(args, "sos", None)  # callers that build the arguments may not name one
    with open_target(root=args.root, capture=args.capture, sos=sos, connect=args.connect) as target:
        if target.kind == "capture":  # CaptureError: one line, exit 2
            yield child_argv(root=str(target.host.root), capture_name=Path(args.capture).name), {}
        elif target.kind == "sos":  # made into a root once, here; each tab reads that root
            yield child_argv(root=str(target.host.root), sos_name=Path(str(sos)).name), {}
        else:
            env = {CONNECT_ENV: target.connect} if target.connect else {}
            yield child_argv(root=str(target.host.root), allow_actions=actions), env


def _interrupted(_signum: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt  # a signal while unpacking: the temporary copy is still removed


def run(args: argparse.Namespace) -> int:
    try:
        from workbench.serve.server import WorkbenchServer
    except ImportError as exc:
        return usage_error(f"serve needs textual-serve ({exc}); run `make setup`")
    if not 0 < args.port < 65536:
        return usage_error(f"--port: expected 1-65535, got {args.port}")
    max_sessions = parse_uint(args.max_sessions, limit=MAX_SESSIONS)
    if not max_sessions:
        return usage_error(
            f"--max-sessions: expected a number from 1 to {MAX_SESSIONS}, got {args.max_sessions!r}"
        )
    if args.capture and not Path(args.capture).is_file():
        return usage_error(f"{args.capture}: no such capture file")
    if getattr(args, "sos", None) and not Path(args.sos).exists():
        return usage_error(f"{args.sos}: no such sosreport")
    if args.root is not None and not Path(args.root).is_dir():
        return usage_error(f"machine root {args.root!r} is not a directory")
    if not is_loopback(args.host):
        say(
            f"WARNING: serving on {args.host}: anyone who can reach port {args.port} "
            "gets this workbench without a password"
            + (", VM actions included" if args.allow_actions else "")
            + ". Prefer the default (127.0.0.1) and an SSH tunnel: "
            f"ssh -L {args.port}:127.0.0.1:{args.port} HOST"
        )
    with socket.socket() as probe:  # a taken port is a clear error, not a traceback
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((args.host, args.port))
        except OSError as exc:
            return usage_error(f"cannot listen on {args.host}:{args.port}: {exc.strerror}")
    with sessions_of(args) as (argv, env):
        # Installed once a capture is unpacked: while it unpacks, its own guard handles them.
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _interrupted)
        server = WorkbenchServer(
            argv,
            host=args.host,
            port=args.port,
            title="Workbench",
            max_sessions=max_sessions,
            env=env,
        )
        server.serve()  # until SIGINT or SIGTERM, which close every session first
    return 0
