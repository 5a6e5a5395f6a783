"""Opening and probing every machine of a fleet, in worker processes.

Each worker (a `forkserver` process, `spawn` where there is none) opens one machine at a time
and returns a small FleetMachine: memory stays at one machine per worker whatever the fleet's
size. A machine that cannot be opened is a FleetMachine with `error`, never the fleet's crash;
Ctrl-C terminates the pool (each worker's own temp directories are removed by its SIGTERM
guard) and is raised on.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.fleet.model import Fleet, FleetEntry, FleetMachine

Progress = Callable[[int, int], None]


def run_fleet(
    entries: list[FleetEntry],
    workers: int | None = None,
    progress: Progress | None = None,
    tmpdir: Path | None = None,
) -> Fleet:
    """Each entry opened (open_target) and probed (run_probes) in a worker process, at most
    `workers` at once (default: the CPU count); a machine that cannot be opened is a
    FleetMachine with `error`, never the fleet's failure. `progress(done, total)` after each
    machine. The machines come back in the order of `entries`. `tmpdir`: where the workers
    unpack (their TMPDIR), so that removing it after the run removes whatever a worker stopped
    mid-way left behind."""
    count = max(1, min(workers or os.cpu_count() or 1, len(entries) or 1))
    if not entries:
        return Fleet(machines=[])
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    machines: list[FleetMachine] = []
    pool = context.Pool(processes=count, initializer=_worker_start, initargs=(tmpdir,))
    try:
        for done, machine in enumerate(pool.imap(probe_entry, entries, chunksize=1), 1):
            machines.append(machine)
            if progress is not None:
                progress(done, len(entries))
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    return Fleet(machines=machines)


def _worker_start(tmpdir: Path | None) -> None:
    """A worker ignores Ctrl-C (the parent stops the pool: SIGTERM, which the unpackers'
    guards turn into a clean exit) and unpacks into the fleet's own temp directory."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if tmpdir is not None:
        os.environ["TMPDIR"] = str(tmpdir)
        tempfile.tempdir = str(tmpdir)


def probe_entry(entry: FleetEntry) -> FleetMachine:
    """One machine opened and probed as `workbench probe` does it alone (same defaults), as a
    small FleetMachine; an error opening it is the machine's `error`."""
    from workbench.core.errors import WorkbenchError

    machine = FleetMachine(
        name=entry.name,
        source=_shown_source(entry),
        kind=entry.kind,
        within=entry.within,
    )
    try:
        _probe(entry, machine)
    except WorkbenchError as exc:
        machine.statuses.clear()
        machine.error = exc.to_dict()
        machine.summary = f"not opened: {exc.message}"
    except (OSError, ValueError) as exc:  # not a WorkbenchError: still this machine's alone
        machine.statuses.clear()
        machine.error = {"code": "FLEET_OPEN", "message": str(exc)}
        machine.summary = f"not opened: {exc}"
    return machine


def _shown_source(entry: FleetEntry) -> str:
    """Where the machine came from as the user knows it: a bundle's node is the bundle and the
    report's file name (its extracted copy is temporary)."""
    if entry.within is None:
        return entry.source
    return f"{entry.within}:{Path(entry.source).name}"


def _probe(entry: FleetEntry, machine: FleetMachine) -> None:
    from workbench.commands.common import plugins_print_to_stderr
    from workbench.core.identity import identity
    from workbench.core.runner import run_probes
    from workbench.fleet.machine import fill
    from workbench.target import open_target

    where: dict[str, Any] = {entry.kind: entry.source}  # capture=, sos= or root=
    with open_target(**where) as target, plugins_print_to_stderr():
        report = run_probes(
            target.host,
            hypervisor=target.new_hypervisor(),
            options={"lg_resolution": "1920x1080"},  # `workbench probe`'s default
        )
        machine.identity = identity(target.host)
    fill(machine, report)  # the facts `compare` sets side by side: one definition of them
