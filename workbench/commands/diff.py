"""`workbench diff A B`: what changed between two captures of one machine."""

from __future__ import annotations

import argparse
import json
import sys

from workbench.commands.common import plugins_print_to_stderr, text_stdout
from workbench.core.text import safe_text


def run(args: argparse.Namespace) -> int:
    from workbench.capture.diff import compare, state_of
    from workbench.core.logging import configure_logging
    from workbench.target import open_target

    configure_logging()
    with plugins_print_to_stderr():  # the probes run: the diff alone goes to stdout
        with open_target(capture=args.before) as a:
            before = state_of(a.host, a.new_hypervisor())
        with open_target(capture=args.after) as b:
            after = state_of(b.host, b.new_hypervisor())
    changes = compare(before, after)
    if args.json:
        doc = {
            "schema": "workbench.diff/1",
            "before": {"file": args.before, "created": before["created"]},
            "after": {"file": args.after, "created": after["created"]},
            "changes": [c.to_dict() for c in changes],
        }
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
        if not changes:
            print("no changes")
        for change in changes:
            print(change.text())
    return 1 if changes else 0
