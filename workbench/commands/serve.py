"""`workbench serve`: the workbench in a browser (textual-serve), on loopback unless told."""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import socket
import sys
from pathlib import Path

from workbench.commands.common import usage_error


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tui_command(args: argparse.Namespace) -> str:
    """The command each browser session runs: this Python's workbench, same options."""
    actions = ["--allow-actions"] if args.allow_actions else []
    argv = [sys.executable, "-m", "workbench"]
    if args.demo:
        argv += ["demo", *actions]
    elif args.capture:
        argv += ["open", str(Path(args.capture).resolve())]  # a capture is read-only
    else:
        argv += ["--root", str(Path(args.root).resolve()), *actions]
        if args.connect:
            argv += ["--connect", args.connect]
    return shlex.join(argv)


def run(args: argparse.Namespace) -> int:
    try:
        from textual_serve.server import Server
    except ImportError as exc:
        return usage_error(f"serve needs textual-serve ({exc}); run `make setup`")
    if not 0 < args.port < 65536:
        return usage_error(f"--port: expected 1-65535, got {args.port}")
    if args.capture and not Path(args.capture).is_file():
        return usage_error(f"{args.capture}: no such capture file")
    if not args.demo and not args.capture and not Path(args.root).is_dir():
        return usage_error(f"machine root {args.root!r} is not a directory")
    if not is_loopback(args.host):
        print(
            f"workbench: WARNING: serving on {args.host}: anyone who can reach port {args.port} "
            "gets this workbench without a password"
            + (", VM actions included" if args.allow_actions else "")
            + ". Prefer the default (127.0.0.1) and an SSH tunnel: "
            f"ssh -L {args.port}:127.0.0.1:{args.port} HOST",
            file=sys.stderr,
        )
    with socket.socket() as probe:  # a taken port is a clear error, not a traceback
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((args.host, args.port))
        except OSError as exc:
            return usage_error(f"cannot listen on {args.host}:{args.port}: {exc.strerror}")
    server = Server(tui_command(args), host=args.host, port=args.port, title="Workbench")
    server.serve()
    return 0
