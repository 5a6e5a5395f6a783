"""Opening and probing every machine of a fleet, in worker processes.

Each worker (a `forkserver` process, `spawn` where there is none) opens one machine at a time
and returns a small FleetMachine: memory stays at one machine per worker whatever the fleet's
size. A machine that cannot be opened is a FleetMachine with `error`, never the fleet's crash;
Ctrl-C terminates the pool (each worker's own temp directories are removed by its SIGTERM
guard) and is raised on.

With the fleet index (workbench/fleet/index.py, on unless `index=False`), a worker hashes each
archive entry first and returns the recorded result when the index has it, unopened; what it
probes it records. Directories are always probed afresh.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.fleet.index import FleetIndex
from workbench.fleet.model import Fleet, FleetEntry, FleetMachine

Progress = Callable[[int, int, int], None]  # done, total, how many of them from the index
PROBE_OPTIONS: dict[str, Any] = {"lg_resolution": "1920x1080"}  # `workbench probe`'s default
if TYPE_CHECKING:
    from workbench.fleet.fingerprint import Stamp

_INDEX: FleetIndex | None = None  # a worker's: set by _worker_start


def run_fleet(
    entries: list[FleetEntry],
    workers: int | None = None,
    progress: Progress | None = None,
    tmpdir: Path | None = None,
    index: bool = True,
) -> Fleet:
    """Each entry opened (open_target) and probed (run_probes) in a worker process, at most
    `workers` at once (default: the CPU count); a machine that cannot be opened is a
    FleetMachine with `error`, never the fleet's failure. `progress(done, total, indexed)`
    after each machine (indexed: how many so far came from the index). The machines come
    back in the order of `entries`. `tmpdir`: where the workers unpack (their TMPDIR), so that
    removing it after the run removes whatever a worker stopped mid-way left behind. `index`:
    use the fleet index (unless WORKBENCH_FLEET_INDEX=off); when it cannot be used or
    written, that is said once in the fleet's `notes` (and the log), never the run's
    failure."""
    from workbench.fleet.index import open_index, prune

    count = max(1, min(workers or os.cpu_count() or 1, len(entries) or 1))
    if not entries:
        return Fleet(machines=[])
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    opened, why_not = open_index(index) if any(_archive(e) for e in entries) else (None, None)
    machines: list[FleetMachine] = []
    indexed = 0
    pool = context.Pool(processes=count, initializer=_worker_start, initargs=(tmpdir, opened))
    try:
        for done, machine in enumerate(pool.imap(_probe_in_worker, entries, chunksize=1), 1):
            machines.append(machine)
            indexed += machine.indexed
            if progress is not None:
                progress(done, len(entries), indexed)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    fleet = Fleet(machines=machines, notes=_index_notes(why_not, machines))
    if opened is not None:
        prune(opened.root)
    return fleet


def _index_notes(why_not: str | None, machines: list[FleetMachine]) -> list[str]:
    """What to say about the index, once: why it was not used, or why results were not kept."""
    from workbench.core.logging import get_logger

    notes = []
    if why_not is not None:
        notes.append(f"fleet index not used ({why_not}): every machine was probed afresh")
    failed = [m.index_problem for m in machines if m.index_problem]
    if failed:
        notes.append(f"fleet index: {len(failed)} result(s) not kept ({failed[0]})")
    for note in notes:
        get_logger("fleet.index").warning("fleet.index_unusable", problem=note)
    return notes


def _worker_start(tmpdir: Path | None, index: FleetIndex | None = None) -> None:
    """A worker ignores Ctrl-C (the parent stops the pool: SIGTERM, which the unpackers'
    guards turn into a clean exit), unpacks into the fleet's own temp directory and uses the
    run's index."""
    global _INDEX  # one per worker process, set once at its start
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _INDEX = index
    if tmpdir is not None:
        os.environ["TMPDIR"] = str(tmpdir)
        tempfile.tempdir = str(tmpdir)


def _probe_in_worker(entry: FleetEntry) -> FleetMachine:
    return probe_entry(entry, _INDEX)


def _archive(entry: FleetEntry) -> bool:
    """Whether the entry is an archive (a capture, a sosreport file): a directory is never
    indexed (it may change without a trace in its own stat)."""
    return entry.kind == "capture" or (entry.kind == "sos" and not Path(entry.source).is_dir())


def probe_entry(entry: FleetEntry, index: FleetIndex | None = None) -> FleetMachine:
    """One machine opened and probed as `workbench probe` does it alone (same defaults), as a
    small FleetMachine; an error opening it is the machine's `error`. With `index`, an
    archive's recorded result is returned unopened (`indexed`), and a new one is recorded."""
    from workbench.core.errors import WorkbenchError

    machine = FleetMachine(
        name=entry.name,
        source=_shown_source(entry),
        kind=entry.kind,
        within=entry.within,
    )
    hashed = _look_up(entry, machine, index) if index is not None else None
    if machine.indexed:
        return machine
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
    if hashed is not None and index is not None and machine.error is None:
        _keep(entry, machine, index, hashed)
    return machine


def _look_up(
    entry: FleetEntry, machine: FleetMachine, index: FleetIndex
) -> tuple[str, Stamp] | None:
    """Fill `machine` from the index when it holds this archive (before any unpack); the key
    and the archive's Stamp to record it under, or None: not an archive, or not hashable."""
    from workbench.fleet.fingerprint import archive_digest
    from workbench.fleet.index import apply

    if not _archive(entry):
        return None
    try:
        hashed = archive_digest(entry.source)
    except OSError:
        return None  # unreadable: its open says why, as the machine's error
    if hashed is None:
        return None
    key = index.key(hashed[0], entry.kind, PROBE_OPTIONS)
    kept = index.lookup(key)
    if kept is not None:
        apply(machine, kept)
    return key, hashed[1]


def _keep(
    entry: FleetEntry, machine: FleetMachine, index: FleetIndex, hashed: tuple[str, Stamp]
) -> None:
    """Record a successfully opened machine, when its archive is still the file hashed; a
    failure to write is the machine's `index_problem`, never its error."""
    from workbench.core.errors import WorkbenchError
    from workbench.fleet.fingerprint import unchanged

    key, stamp = hashed
    if not unchanged(entry.source, stamp):
        return
    try:
        index.store(key, machine)
    except WorkbenchError as exc:
        machine.index_problem = exc.message
    except OSError as exc:
        machine.index_problem = f"{index.root}: {exc.strerror or exc}"


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
            options=dict(PROBE_OPTIONS),
        )
        machine.identity = identity(target.host)
    fill(machine, report)  # the facts `compare` sets side by side: one definition of them
