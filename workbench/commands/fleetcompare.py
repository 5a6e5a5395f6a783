"""`workbench fleet --compare A B [PATH ...]`: two machines' facts side by side ("why does A
work and B not"). A and B are two machine files (captures, sosreports), or with PATHs the
names of two machines of that fleet. Each is opened and probed as the fleet's workers do
(workbench/fleet/run.py `probe_entry`): the same facts."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from workbench.commands.common import plugins_print_to_stderr, text_stdout
from workbench.core.errors import ConfigError, WorkbenchError
from workbench.fleet.model import FleetEntry


def run_compare(a: str, b: str, paths: list[str], as_json: bool) -> int:
    """The hook for `fleet --compare A B PATH ...` (the fleet verb's own option)."""
    return run(argparse.Namespace(a=a, b=b, paths=paths, json=as_json))


def run(args: argparse.Namespace) -> int:
    from workbench.core.identity import NOT_RECORDED
    from workbench.core.logging import configure_logging
    from workbench.fleet.compare import differences, to_dict
    from workbench.fleet.run import probe_entry

    configure_logging()
    with contextlib.ExitStack() as stack:  # the engine's work dir: bundles' reports
        try:
            pair = _entries(args.a, args.b, list(args.paths or []), stack)
        except WorkbenchError as exc:  # one line, and under --json a workbench.error/1 document
            raise ConfigError(
                f"compare: {exc.message}", code="COMPARE_NO_SUCH_MACHINE", cause=exc
            ) from exc
        with plugins_print_to_stderr():
            machines = [probe_entry(e) for e in pair]
    for machine in machines:
        if machine.error is not None:
            said = str(machine.error.get("message") or "could not be opened")
            # the error names its file already (a capture's refusal starts with it)
            where = "" if said.startswith(machine.source) else f"{machine.source}: "
            raise ConfigError(
                f"compare: {where}{said}",
                code="COMPARE_UNREADABLE",
                details={"source": machine.source, "error": machine.error},
            )
    a, b = machines
    diffs = differences(a, b)
    if args.json:
        sys.stdout.write(json.dumps(to_dict(a, b), indent=2) + "\n")
        return 1 if diffs else 0
    from workbench.core.text import safe_text

    text_stdout()
    for label, machine in (("A:", a), ("B:", b)):
        ident = ", ".join(f"{k} {v or NOT_RECORDED}" for k, v in machine.identity.items())
        print(
            f"{label} {safe_text(machine.name)} ({safe_text(machine.source)}): {safe_text(ident)}"
        )
    if not diffs:
        print("no differences")
    for diff in diffs:
        print(diff.text())
    return 1 if diffs else 0


def _entries(a: str, b: str, paths: list[str], stack: contextlib.ExitStack) -> list[FleetEntry]:
    """A and B as files (each one machine), or as names among the machines in `paths`; found
    by the fleet's discovery (by content), bundles extracted into its work directory."""
    from workbench.fleet.discover import fleet_workdir
    from workbench.fleet.machine import find_entries

    workdir = stack.enter_context(fleet_workdir())
    if not paths:
        out = []
        for path in (a, b):
            entries, passed = find_entries([path], workdir)
            if not entries:
                said = f" ({passed[0]})" if passed else ""
                raise WorkbenchError(f"{path}: no machine in it{said}")
            if len(entries) > 1:
                raise WorkbenchError(
                    f"{path}: {len(entries)} machines, not one (name two of them: "
                    f"--compare NAME_A NAME_B {path})"
                )
            out.append(entries[0])
        return out
    found, _passed = find_entries(list(paths), workdir)
    named = []
    for name in (a, b):
        match = [m for m in found if m.name == name] or [
            m
            for m in found
            if Path(m.source).name == name  # its file's name also names it
        ]
        if not match:
            raise WorkbenchError(f"no machine named {name} in the fleet")
        named.append(match[0])
    return named
