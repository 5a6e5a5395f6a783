"""The `workbench` command. Headless verbs import no UI code."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from workbench import __version__
from workbench.core.errors import WorkbenchError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Diagnose Linux hosts that run VMs with GPU passthrough.",
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    probe = sub.add_parser(
        "probe",
        help="run the probes and print a report",
        description="Run the probes against a machine and print a report. Exit 0 when nothing "
        "failed, 1 when a probe failed or broke, 2 for bad usage or unreadable input.",
    )
    probe.add_argument(
        "--root",
        default="/",
        metavar="DIR",
        help="machine root to read (default: / , the live machine)",
    )
    probe.add_argument(
        "--only", metavar="ID,...", help="run only these probes (and what they require)"
    )
    probe.add_argument(
        "--json", action="store_true", help="print the workbench.report/1 JSON document"
    )
    probe.add_argument(
        "--lg-resolution",
        default="1920x1080",
        metavar="WxH",
        help="guest resolution Looking Glass is judged for (default 1920x1080)",
    )
    probe.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="per-probe time limit in seconds (default: each probe's own)",
    )
    probe.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the text report (default: auto, on a terminal)",
    )
    probe.set_defaults(func=cmd_probe)
    return parser


def cmd_probe(args: argparse.Namespace) -> int:
    from probes.parsers import parse_resolution
    from workbench.core.host import Host
    from workbench.core.logging import configure_logging
    from workbench.core.runner import run_probes
    from workbench.textreport import render_text

    if parse_resolution(args.lg_resolution) is None:
        return _usage(
            f"--lg-resolution: expected WIDTHxHEIGHT such as 2560x1440, got {args.lg_resolution!r}"
        )
    if args.timeout is not None and not args.timeout > 0:
        return _usage("--timeout: expected a positive number of seconds")
    if configure_logging() is None:
        print("workbench: warning: log file not writable; records are dropped", file=sys.stderr)
    only = [p.strip() for p in args.only.split(",") if p.strip()] if args.only else None
    host = Host(args.root)
    report = run_probes(
        host, only=only, timeout_s=args.timeout, options={"lg_resolution": args.lg_resolution}
    )
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        colour = args.color == "always" or (
            args.color == "auto" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        )
        sys.stdout.write(render_text(report, colour=colour))
    return 1 if report.failed else 0


def _usage(message: str) -> int:
    print(f"workbench: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except WorkbenchError as exc:
        hint = f" ({exc.remedy})" if exc.remedy else ""
        return _usage(f"{exc.message}{hint}")
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `workbench probe | head`: the reader left; nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
