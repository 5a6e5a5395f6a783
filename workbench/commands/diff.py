"""`workbench diff A B`: what changed between two captures of one machine."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from workbench.commands.common import plugins_print_to_stderr, text_stdout
from workbench.core.errors import ConfigError
from workbench.core.identity import NOT_RECORDED, differs
from workbench.core.text import safe_text


def run(args: argparse.Namespace) -> int:
    from workbench.capture.diff import Change, compare, state_of
    from workbench.core.identity import identity, recorded
    from workbench.core.logging import configure_logging
    from workbench.target import open_target

    configure_logging()
    for path in (args.before, args.after):
        _refuse_a_sosreport(path)
    with (
        plugins_print_to_stderr(),  # the probes run: the diff alone goes to stdout
        open_target(capture=args.before) as a,
        open_target(capture=args.after) as b,
    ):
        ids = (identity(a.host), identity(b.host))
        refused = _other_machine(*ids)
        if refused and not getattr(args, "force", False):
            # A ConfigError: one line on stderr, and under --json the workbench.error/1 document.
            raise ConfigError(
                f"diff: {refused}",
                code="DIFF_DIFFERENT_MACHINES",
                details={"differ": differs(*ids)},
                remedy="--force compares them anyway",
            )
        before = state_of(a.host, a.new_hypervisor())
        after = state_of(b.host, b.new_hypervisor())
    # Forced past two different machines: what tells them apart is a change like any other.
    changes = [Change("identity", k, ids[0][k], ids[1][k]) for k in differs(*ids)]
    changes += compare(before, after)
    if args.json:
        doc: dict[str, Any] = {
            "schema": "workbench.diff/1",
            "before": {"file": args.before, "created": before["created"]},
            "after": {"file": args.after, "created": after["created"]},
            "changes": [c.to_dict() for c in changes],
        }
        if not (recorded(ids[0]) or recorded(ids[1])):
            doc["identity"] = NOT_RECORDED
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        text_stdout()  # nothing of ours but ASCII: a character the stream lacks is escaped
        for label, name, state in (
            ("before:", args.before, before),
            ("after: ", args.after, after),
        ):
            created = state["created"]
            when = safe_text(str(created)) if created else "time not recorded"
            print(f"{label} {safe_text(name)} ({when})")
        if not (recorded(ids[0]) or recorded(ids[1])):
            print("identity not recorded (hostname, machine-id, DMI serial): same machine?")
        if not changes:
            print("no changes")
        for change in changes:
            print(change.text())
    return 1 if changes else 0


def _refuse_a_sosreport(path: str) -> None:
    """A sosreport (archive or folder) named to diff is said to be one, with the command that
    compares it, not reported as a damaged capture."""
    from workbench.core.errors import CaptureError
    from workbench.sos.detect import archive_kind, is_report_dir

    where = Path(path)
    try:
        if where.is_dir():
            is_sos = is_report_dir(where)
        elif where.is_file():  # never a FIFO or a device: the capture reader refuses those
            is_sos = archive_kind(where, sos_only=True) == "sos"
        else:
            return
    except (CaptureError, OSError):  # not a tar archive, unreadable: the capture reader says
        return
    if is_sos:
        raise ConfigError(
            f"diff: {path} is a sosreport: diff compares two captures "
            "(use `workbench fleet --compare A B`)",
            code="DIFF_NOT_A_CAPTURE",
        )


def _other_machine(a: dict[str, str | None], b: dict[str, str | None]) -> str | None:
    """One line naming what says A and B are two machines, or None (the same, or not
    recorded)."""
    keys = differs(a, b)
    if not keys:
        return None
    shown = "; ".join(f"{k} {a[k]} != {b[k]}" for k in keys)
    return f"A and B are two different machines: {shown}"
