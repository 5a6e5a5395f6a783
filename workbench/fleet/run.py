"""Opening and probing every machine of a fleet, in worker processes.

Each worker (a `forkserver` process, `spawn` where there is none: workbench/fleet/pool.py)
opens one machine at a time and returns a small FleetMachine: memory stays at one machine per
worker whatever the fleet's size. A machine that cannot be opened, or whose worker died, is a
FleetMachine with `error`, never the fleet's crash; Ctrl-C (and SIGTERM, through the command's
guard) terminates the workers (each one's own temp directories are removed by its SIGTERM
guard) and is raised on.

With the fleet index (workbench/fleet/index.py, on unless `index=False`), a worker hashes each
archive entry first and returns the recorded result when the index has it, unopened; what it
probes it records. Directories are always probed afresh.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.fleet.index import FleetIndex
from workbench.fleet.model import Fleet, FleetEntry, FleetMachine
from workbench.fleet.pool import no_pool_reason, pooled, refuse_while_bootstrapping

Progress = Callable[[int, int, int], None]  # done, total, how many of them from the index
PROBE_OPTIONS: dict[str, Any] = {"lg_resolution": "1920x1080"}  # `workbench probe`'s default
if TYPE_CHECKING:
    from workbench.fleet.fingerprint import Stamp

_INDEX: FleetIndex | None = None  # a worker's: set by _worker_start
_STARTED: Any = None  # a worker's queue of (pid, entry's place) as it starts each machine


def run_fleet(
    entries: list[FleetEntry],
    workers: int | None = None,
    progress: Progress | None = None,
    tmpdir: Path | None = None,
    index: bool = True,
) -> Fleet:
    """Each entry opened (open_target) and probed (run_probes) in a worker process, at most
    `workers` at once (default: the CPU count); a machine that cannot be opened, or whose
    worker died (a signal: OOM, a crash), is a FleetMachine with `error`, never the fleet's
    failure: the others go on (in a new pool when one broke). When worker processes cannot
    start at all (`__main__` cannot be imported again, or every worker fails at start), the
    machines are probed in this process, one at a time, said once on stderr and in the log.
    `progress(done, total, indexed)` after each machine (indexed: how many so far came from
    the index). The machines come back in the order of `entries`. `tmpdir`: where the
    workers unpack (their TMPDIR), so that removing it after the run removes whatever a
    worker stopped mid-way left behind. `index`: use the fleet index (unless
    WORKBENCH_FLEET_INDEX=off); when it cannot be used or written, that is said once in the
    fleet's `notes` (and the log), never the run's failure."""
    from workbench.fleet.index import open_index, prune

    if not entries:
        return Fleet(machines=[])
    count = max(1, min(workers or os.cpu_count() or 1, len(entries)))
    opened, why_not = open_index(index) if any(_archive(e) for e in entries) else (None, None)
    results: list[FleetMachine | None] = [None] * len(entries)
    tally = [0, 0]  # done, indexed

    def finished(at: int, machine: FleetMachine) -> None:
        results[at] = machine
        tally[0] += 1
        tally[1] += machine.indexed
        if progress is not None:
            progress(tally[0], len(entries), tally[1])

    left = list(range(len(entries)))
    refuse_while_bootstrapping()
    why = no_pool_reason()
    if why is None:
        left = pooled(entries, left, count, (tmpdir, opened), finished)
        why = "worker processes could not start" if left else None
    if left:
        _say_in_process(why or "", len(left))
        for at in left:
            finished(at, probe_entry(entries[at], opened))
    machines = [m for m in results if m is not None]
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


def _say_in_process(why: str, count: int) -> None:
    """Once per run, on stderr and in the log: the machines are probed here, one at a time."""
    from workbench.core.logging import get_logger

    said = f"fleet: {why}: probing {count} machine(s) in this process, one at a time"
    get_logger("fleet.run").warning("fleet.in_process", problem=said)
    sys.stderr.write(f"workbench: {said}\n")
    sys.stderr.flush()


def _worker_start(
    tmpdir: Path | None, index: FleetIndex | None = None, started: Any = None
) -> None:
    """A worker ignores Ctrl-C (the parent stops the pool: SIGTERM, which the unpackers'
    guards turn into a clean exit), unpacks into the fleet's own temp directory, uses the
    run's index and says on `started` which machine it takes (its pid, the entry's place)."""
    global _INDEX, _STARTED  # one per worker process, set once at its start
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _INDEX = index
    _STARTED = started
    if tmpdir is not None:
        os.environ["TMPDIR"] = str(tmpdir)
        tempfile.tempdir = str(tmpdir)


def _probe_in_worker(at: int, entry: FleetEntry) -> FleetMachine:
    if _STARTED is not None:
        _STARTED.put((os.getpid(), at))
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
        source=shown_source(entry),
        kind=entry.kind,
        within=entry.within,
        open_source=entry.source,
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
    except Exception as exc:  # noqa: BLE001 - one machine's bug is its error row, not the fleet's
        machine.statuses.clear()
        said = str(exc) if isinstance(exc, OSError | ValueError) else f"{type(exc).__name__}: {exc}"
        machine.error = {"code": "FLEET_OPEN", "message": said}
        machine.summary = f"not opened: {said}"
    if machine.error is not None and entry.within is not None:
        _name_the_bundle(machine, entry)
    if hashed is not None and index is not None and machine.error is None:
        _keep(entry, machine, index, hashed)
    return machine


def _name_the_bundle(machine: FleetMachine, entry: FleetEntry) -> None:
    """A bundle's node's error names `BUNDLE:REPORT`, not its extracted copy (a temporary
    path, gone when the fleet ends)."""
    shown = shown_source(entry)
    folder = str(Path(entry.source).parent)
    for key in ("message", "remedy"):
        said = machine.error.get(key) if machine.error else None
        if isinstance(said, str) and machine.error is not None:
            machine.error[key] = said.replace(entry.source, shown).replace(
                folder, entry.within or ""
            )
    machine.summary = machine.summary.replace(entry.source, shown)


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


def shown_source(entry: FleetEntry) -> str:
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
