"""`workbench probe`: run the probes, print the report."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.commands.common import plugins_print_to_stderr, say, text_stdout
from workbench.core.errors import ConfigError

if TYPE_CHECKING:
    from workbench.core.report import Report
    from workbench.target import Target


def run(args: argparse.Namespace) -> int:
    from probes.parsers import parse_resolution
    from workbench.core.logging import configure_logging

    output = _output_for(args)  # first: under --format json, a refusal is a JSON document too
    if parse_resolution(args.lg_resolution) is None:
        raise ConfigError(  # exit 2, and the error document under --json
            f"--lg-resolution: expected WIDTHxHEIGHT such as 2560x1440, got {args.lg_resolution!r}"
        )
    if configure_logging() is None:
        say("warning: log file not writable; records are dropped")
    only = [p.strip() for p in args.only.split(",") if p.strip()] if args.only else None
    if args.format == "vhv":  # virt-host-validate's checks are its own, all of them
        from workbench.commands.vhvtext import PROBES

        if only is not None:
            raise ConfigError("--format vhv runs virt-host-validate's checks: drop --only")
        only = list(PROBES)
    from workbench.target import open_target

    with open_target(
        root=args.root,
        capture=args.capture,
        sos=getattr(args, "sos", None),
        connect=args.connect,
        connects=getattr(args, "connects", None),
    ) as target:
        if len(target.connects) > 1:
            if args.format in ("prometheus", "vhv"):
                raise ConfigError(
                    f"--format {args.format} speaks for one machine: give one --connect"
                )
            from workbench.commands.probemany import report_each

            return report_each(args, target, only, _run)
        return _report(args, target, only, output)


def _output_for(args: argparse.Namespace) -> Path | None:
    """Settle --format against --json and -o (refused before any probe runs); the file -o
    names, checked writable now rather than after the probes."""
    fmt = getattr(args, "format", None)
    if args.json and fmt not in (None, "json"):
        raise ConfigError(f"--json and --format {fmt} ask for two formats: give one")
    args.format = "json" if args.json else (fmt or "text")
    args.json = args.format == "json"  # an error is a JSON document under --format json too
    out = getattr(args, "output", None)
    if out is None:
        return None
    if args.format != "prometheus":
        raise ConfigError("-o FILE writes the textfile of --format prometheus: add it")
    if out == "":
        raise ConfigError("-o: expected a file name, got an empty one")
    if out == "-":
        return None  # standard output, as `capture -o -`
    from workbench.core.atomicfile import check_writable

    path = Path(out)
    check_writable(path)
    return path


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


def _report(
    args: argparse.Namespace, target: Target, only: list[str] | None, output: Path | None
) -> int:
    from workbench.textreport import OWN_MARKS, render_text

    report = _run(args, target, only)
    if args.format == "prometheus":
        from workbench.core.promtext import render

        data = render(report).encode("utf-8")  # the format is UTF-8 whatever the locale
        if output is None:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
        else:
            from workbench.core.atomicfile import write_atomic

            write_atomic(output, data)
    elif args.format == "vhv":
        from workbench.commands.vhvtext import render as render_vhv

        colour = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
        text, errors, status = render_vhv(report, target.host, colour=colour)
        sys.stdout.write(text)
        for line in errors:  # as vhv prints them: libvirt's error line, no prefix of ours
            sys.stderr.write(line + "\n")
        return status
    elif args.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        colour = args.color == "always" or (
            args.color == "auto" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        )
        ascii_only = text_stdout(OWN_MARKS)
        sys.stdout.write(render_text(report, colour=colour, ascii_only=ascii_only))
    return 1 if report.failed else 0
