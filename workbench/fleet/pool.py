"""The fleet's worker processes: a concurrent.futures pool (`forkserver`, `spawn` where there
is none) that survives its workers. A worker that dies (SIGKILL, the OOM killer, a segfault)
breaks the pool; the machine it was probing becomes that machine's error row ("the worker
probing it died: signal N"), and the machines not yet done go on in a new pool. Which worker
held which machine is known from a queue each worker writes to as it starts one.

A pool that cannot start at all (no machine was ever started in it) hands its machines back:
the caller probes them in its own process. So does a `__main__` that cannot be imported again
(`python - <<EOF`, a notebook's kernel): there the pool is never tried.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from workbench.fleet.model import FleetEntry, FleetMachine

Finished = Callable[[int, FleetMachine], None]
STOP_WAIT_S = 5.0  # a stopped worker's time to clean up (its temp files) before it is killed
# a worker the broken pool itself stopped (SIGTERM, or its guard's exit) or let go (0), or
# whose end is unknown: not the cause, its machine is tried once more
_STOPPED = (None, 0, -signal.SIGTERM, 128 + signal.SIGTERM)


def refuse_while_bootstrapping() -> None:
    """In a process that is itself a worker starting (it imports `__main__` again, as
    `__mp_main__`: a script calling the fleet without an `if __name__ == "__main__":` guard),
    stop that start quietly (SystemExit): the script's own process then probes in itself."""
    main = sys.modules.get("__main__")
    mp_main = sys.modules.get("__mp_main__")
    inheriting = getattr(multiprocessing.current_process(), "_inheriting", False)
    if inheriting or (mp_main is not None and mp_main is not main):
        raise SystemExit(1)


def no_pool_reason() -> str | None:
    """Why worker processes cannot be started from this process, else None: they import
    `__main__` again by its file, so a `__main__` without one (stdin, `-c`, a REPL) cannot be
    re-imported."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    spec = getattr(main, "__spec__", None)
    if spec is None and (not path or path == "<stdin>" or path.startswith("<")):
        return "__main__ has no file to import again (stdin, -c or an interactive session)"
    return None


def pooled(
    entries: list[FleetEntry],
    left: list[int],
    count: int,
    initargs: tuple[Any, ...],
    finished: Finished,
) -> list[int]:
    """Probe entries[at] for each `at` in `left` in worker processes, `finished(at, machine)`
    for each; a new pool after one broke. The places not probed because no pool could start
    (empty when every machine has its row)."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    retried: set[int] = set()
    while left:
        outcome = _one_pool(entries, left, min(count, len(left)), context, initargs, finished)
        if outcome is None:
            return left  # the pool never started a machine: it cannot start here
        done, died = outcome
        for at, code in died.items():
            if code in _STOPPED and at not in retried:
                retried.add(at)  # stopped with the broken pool, not the cause: once more
                continue
            finished(at, died_row(entries[at], code))
            done.add(at)
        left = [at for at in left if at not in done]
    return []


def died_row(entry: FleetEntry, code: int | None) -> FleetMachine:
    """The error row of a machine whose worker died (`code`: its exit code; negative, the
    signal that killed it)."""
    from workbench.fleet.run import shown_source

    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown"
        how = f"signal {-code} ({name})"
    else:
        how = f"exit status {code}" if code is not None else "no exit status"
    said = f"the worker probing it died: {how}"
    return FleetMachine(
        name=entry.name,
        source=shown_source(entry),
        kind=entry.kind,
        within=entry.within,
        summary=f"not opened: {said}",
        error={
            "code": "FLEET_WORKER_DIED",
            "message": said,
            "remedy": "A crash or the OOM killer (see `journalctl -k`): probe this machine "
            "alone (`workbench probe`) to see it.",
        },
        open_source=entry.source,
    )


def _one_pool(
    entries: list[FleetEntry],
    left: list[int],
    workers: int,
    context: Any,
    initargs: tuple[Any, ...],
    finished: Finished,
) -> tuple[set[int], dict[int, int | None]] | None:
    """One pool over `left`: the places finished, and those whose worker died (its exit
    code); None when no machine was ever started (the pool cannot start)."""
    from workbench.fleet.run import _probe_in_worker, _worker_start

    started = context.SimpleQueue()
    executor = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_worker_start,
        initargs=(*initargs, started),
    )
    done: set[int] = set()
    processes: dict[int, Any] = {}
    try:
        futures: dict[Future[FleetMachine], int] = {}
        for at in left:
            futures[executor.submit(_probe_in_worker, at, entries[at])] = at
            processes.update(getattr(executor, "_processes", None) or {})
        broken = False
        for future in as_completed(futures):
            try:
                machine = future.result()
            except BrokenProcessPool:
                broken = True
                continue
            finished(futures[future], machine)
            done.add(futures[future])
    except BrokenProcessPool:
        broken = True  # a submit after the pool broke
    except (OSError, EOFError, RuntimeError):
        _stop(executor, processes)
        return None if not done else (done, {})
    except BaseException:
        _stop(executor, processes)
        raise
    executor.shutdown(wait=True, cancel_futures=True)
    if not broken:
        return done, {}
    running = _drain(started)
    if not running and not done:
        return None
    died: dict[int, int | None] = {}
    for at, pid in running.items():
        if at in done:
            continue
        process = processes.get(pid)
        died[at] = process.exitcode if process is not None else None
    return done, died


def _drain(started: Any) -> dict[int, int]:
    """Each started machine's place -> the pid of the worker that took it."""
    running: dict[int, int] = {}
    with contextlib.suppress(OSError, EOFError):
        while not started.empty():
            pid, at = started.get()
            running[int(at)] = int(pid)
    return running


def _stop(executor: ProcessPoolExecutor, processes: dict[int, Any]) -> None:
    """Stop every worker now (Ctrl-C, SIGTERM, an error): SIGTERM, which the unpackers'
    guards turn into a clean exit, then wait for them."""
    for process in processes.values():
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.terminate()
    # not shutdown(wait=True): a worker stopped while handing back a result can wait forever
    # for a reader that is gone; each one is waited for a while, then killed
    executor.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + STOP_WAIT_S
    for process in processes.values():
        with contextlib.suppress(OSError, ValueError, AttributeError, AssertionError):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.exitcode is None:
                process.kill()
                process.join(1.0)
