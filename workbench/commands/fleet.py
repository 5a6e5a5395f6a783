"""`workbench fleet PATH ...`: many machines side by side (a table machines x probes, then the
machines that share each failing probe and each cause), or the workbench.fleet/1 document;
`fleet --compare A B [PATH ...]`: two machines' facts side by side (commands/fleetcompare.py)."""

from __future__ import annotations

import argparse
import json
import sys

from workbench.commands.common import text_stdout, usage_error
from workbench.fleet.machine import limits_first, nothing_found
from workbench.fleet.model import Fleet
from workbench.fleet.table import render_fleet


def run(args: argparse.Namespace) -> int:
    from workbench.fleet.discover import discover, fleet_workdir
    from workbench.fleet.run import run_fleet

    if args.compare is not None:
        from workbench.commands.fleetcompare import run_compare

        return run_compare(args.compare[0], args.compare[1], list(args.paths), bool(args.json))
    if not args.paths:
        return usage_error("fleet: at least one PATH (or --compare A B)")
    show = bool(args.progress) or sys.stderr.isatty()

    def progress(done: int, total: int, indexed: int) -> None:
        end = "\n" if done == total else ""
        sys.stderr.write(f"\r{done}/{total} machines, {indexed} from the index{end}")
        sys.stderr.flush()

    with fleet_workdir() as workdir:
        entries, problems = discover(list(args.paths), workdir)
        problems = limits_first(problems)
        if not entries:
            raise nothing_found(problems)
        index = not args.no_index
        fleet = run_fleet(entries, args.workers, progress if show else None, workdir, index)
        for note in fleet.notes:  # once each: the index could not be used or written
            sys.stderr.write(f"workbench: {note}\n")
        fleet.problems = problems + fleet.problems
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
