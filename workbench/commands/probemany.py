"""`workbench probe --connect A --connect B`: one report per hypervisor.

Each URI gets its own whole run (a workbench.report/1 document whose `host.connect` names it):
the probes take one hypervisor through their ProbeContext and their facts, findings and causes
are about that one, so a report per URI keeps every document what `probe` has always printed,
and a reader of one URI's report needs nothing new. The runs go side by side, so a hypervisor
that does not answer costs its own probes' time limits, not the others'.
`--json` prints an array of the reports, in the order the URIs were given; text prints one
section per URI.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from workbench.commands.common import plugins_print_to_stderr, text_stdout
from workbench.core.text import mask_uri, safe_text

if TYPE_CHECKING:
    from workbench.core.report import Report
    from workbench.target import Target

RunOne = Callable[[argparse.Namespace, "Target", "list[str] | None", "str | None"], "Report"]
MAX_PARALLEL = 8  # hypervisors probed at once; the rest wait their turn


def report_each(
    args: argparse.Namespace, target: Target, only: list[str] | None, run_one: RunOne
) -> int:
    """Run the probes once per URI of `target.connects` and print every report; exit 1 when
    any of them has a failing or broken probe."""
    uris = target.connects
    # One redirect around every run: the runs' own (nested, in threads) then all save and
    # restore stderr, never each other's stdout.
    with (
        plugins_print_to_stderr(),
        ThreadPoolExecutor(max_workers=min(len(uris), MAX_PARALLEL)) as pool,
    ):
        futures = [pool.submit(run_one, args, target, only, uri) for uri in uris]
        reports = [future.result() for future in futures]  # an error: exit 2, as for one
    for uri, report in zip(uris, reports, strict=True):
        report.host["connect"] = mask_uri(uri)
    if args.json:
        sys.stdout.write(json.dumps([r.to_dict() for r in reports], indent=2) + "\n")
    else:
        _text(args, reports)
    return 1 if any(r.failed for r in reports) else 0


def _text(args: argparse.Namespace, reports: list[Report]) -> None:
    from workbench.textreport import OWN_MARKS, render_text

    colour = args.color == "always" or (
        args.color == "auto" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    )
    ascii_only = text_stdout(OWN_MARKS)
    for index, report in enumerate(reports):
        if index:
            sys.stdout.write("\n")
        sys.stdout.write(f"== hypervisor {safe_text(str(report.host['connect']))} ==\n")
        sys.stdout.write(render_text(report, colour=colour, ascii_only=ascii_only))
