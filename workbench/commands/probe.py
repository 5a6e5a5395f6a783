"""`workbench probe`: run the probes, print the report."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from workbench.commands.common import plugins_print_to_stderr, say, text_stdout
from workbench.core.errors import ConfigError

if TYPE_CHECKING:
    from workbench.core.report import Report
    from workbench.target import Target


def run(args: argparse.Namespace) -> int:
    from probes.parsers import parse_resolution
    from workbench.core.logging import configure_logging

    if parse_resolution(args.lg_resolution) is None:
        raise ConfigError(  # exit 2, and the error document under --json
            f"--lg-resolution: expected WIDTHxHEIGHT such as 2560x1440, got {args.lg_resolution!r}"
        )
    if configure_logging() is None:
        say("warning: log file not writable; records are dropped")
    only = [p.strip() for p in args.only.split(",") if p.strip()] if args.only else None
    from workbench.target import open_target

    with open_target(
        root=args.root,
        capture=args.capture,
        sos=getattr(args, "sos", None),
        connect=args.connect,
        connects=getattr(args, "connects", None),
    ) as target:
        if len(target.connects) > 1:
            from workbench.commands.probemany import report_each

            return report_each(args, target, only, _run)
        return _report(args, target, only)


def _run(
    args: argparse.Namespace, target: Target, only: list[str] | None, uri: str | None = None
) -> Report:
    """One run of the probes, against `uri` (default: the target's first hypervisor)."""
    from workbench.core.runner import run_probes

    with plugins_print_to_stderr():
        report = run_probes(
            target.host,
            hypervisor=target.new_hypervisor(uri),  # the run closes it
            only=only,
            timeout_s=args.timeout,
            options={"lg_resolution": args.lg_resolution},
        )
    report.host.update(target.report_host())
    return report


def _report(args: argparse.Namespace, target: Target, only: list[str] | None) -> int:
    from workbench.textreport import OWN_MARKS, render_text

    report = _run(args, target, only)
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        colour = args.color == "always" or (
            args.color == "auto" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        )
        ascii_only = text_stdout(OWN_MARKS)
        sys.stdout.write(render_text(report, colour=colour, ascii_only=ascii_only))
    return 1 if report.failed else 0
