"""`workbench probe`: run the probes, print the report."""

from __future__ import annotations

import argparse
import json
import os
import sys

from workbench.commands.common import say, text_stdout, usage_error
from workbench.core.host import Host


def run(args: argparse.Namespace) -> int:
    from probes.parsers import parse_resolution
    from workbench.core.logging import configure_logging

    if parse_resolution(args.lg_resolution) is None:
        return usage_error(
            f"--lg-resolution: expected WIDTHxHEIGHT such as 2560x1440, got {args.lg_resolution!r}"
        )
    if configure_logging() is None:
        say("warning: log file not writable; records are dropped")
    only = [p.strip() for p in args.only.split(",") if p.strip()] if args.only else None
    if args.capture is not None:
        from workbench.capture.unpack import open_capture

        with open_capture(args.capture) as root:
            return _report(args, Host(root), only, capture=args.capture)
    return _report(args, Host(args.root), only)


def _report(
    args: argparse.Namespace, host: Host, only: list[str] | None, capture: str | None = None
) -> int:
    from workbench.core.runner import run_probes
    from workbench.textreport import OWN_MARKS, render_text

    # The live machine's own hypervisor by default; a recorded machine has none unless named.
    connect = args.connect or ("qemu:///system" if host.live else None)
    report = run_probes(
        host,
        only=only,
        timeout_s=args.timeout,
        options={"lg_resolution": args.lg_resolution, "connect": connect},
    )
    if capture is not None:  # the unpacked root is a temp dir, gone after this command
        report.host.update(capture=capture, captured_at=host.manifest.get("created"))
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        colour = args.color == "always" or (
            args.color == "auto" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        )
        ascii_only = text_stdout(OWN_MARKS)
        sys.stdout.write(render_text(report, colour=colour, ascii_only=ascii_only))
    return 1 if report.failed else 0
