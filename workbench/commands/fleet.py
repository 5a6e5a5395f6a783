"""`workbench fleet PATH ...`: many machines side by side (a table machines x probes, then the
machines that share each failing probe and each cause), or the workbench.fleet/1 document;
`fleet --compare A B [PATH ...]`: two machines' facts side by side (commands/fleetcompare.py)."""

from __future__ import annotations

import argparse
import json
import sys

from workbench.commands.common import say, text_stdout, usage_error
from workbench.fleet.model import Fleet
from workbench.fleet.table import render_fleet


def run(args: argparse.Namespace) -> int:
    from workbench.capture.sigterm import TerminationGuard
    from workbench.commands.fleetprogress import Counter
    from workbench.fleet.discover import fleet_workdir
    from workbench.fleet.machine import open_fleet

    if args.compare is not None:
        from workbench.commands.fleetcompare import run_compare

        return run_compare(args.compare[0], args.compare[1], list(args.paths), bool(args.json))
    if not args.paths:
        return usage_error("fleet: at least one PATH (or --compare A B)")
    counter = Counter(sys.stderr) if bool(args.progress) or sys.stderr.isatty() else None
    # SIGTERM/SIGHUP exit as Ctrl-C does: the workers stopped, the work directory removed
    with TerminationGuard(), fleet_workdir() as workdir:
        try:
            fleet = open_fleet(
                list(args.paths),
                index=not args.no_index,
                workers=args.workers,
                progress=counter,
                workdir=workdir,
            )
        finally:
            if counter is not None:
                counter.end()  # the progress line ended before anything else is said
        for note in fleet.notes:  # once each: the index could not be used or written
            say(note)  # escaped: a note may name an archive, whose name the customer chose
        if not args.json and not args.text and _terminal():
            # the TUI opens machines from `workdir` (a bundle's reports): inside its block
            from workbench.ui.fleet.run import run_fleet_ui

            run_fleet_ui(fleet)
            return 1 if _failed(fleet) else 0
    if args.json:
        sys.stdout.write(json.dumps(fleet.to_dict(), indent=2) + "\n")
    else:
        from workbench.textreport import OWN_MARKS

        sys.stdout.write(render_fleet(fleet, ascii_only=text_stdout(OWN_MARKS)))
    return 1 if _failed(fleet) else 0


def _failed(fleet: Fleet) -> bool:
    """Whether a machine has a probe that failed or broke, or could not be opened."""
    return any(
        m.error is not None or any(s in ("fail", "error") for s in m.statuses.values())
        for m in fleet.machines
    )


def _terminal() -> bool:
    """stdout is a terminal the TUI can be drawn on (stdin and stderr too, a TERM that is not
    dumb); else the table is printed."""
    from workbench.ui.terminal import terminal_problem

    return sys.stdout.isatty() and terminal_problem() is None
