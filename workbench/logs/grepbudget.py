"""`--grep` with a time limit per line. Python's `re` cannot be interrupted (and the `regex`
module is not in the lock), so the searches run in a worker process (from a fork server: a
fork of a process with threads, as `--follow` has, could inherit a held lock): a batch of lines
that takes longer than its budget has the worker killed and its lines searched again one at a
time, each with BUDGET_S; a line that still takes longer is skipped (None) and said."""

from __future__ import annotations

import contextlib
import multiprocessing
import re
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from workbench.core.errors import WorkbenchError

BUDGET_S = 1.0  # one line's search, at most
BATCH_S = 2.0
START_S = 30.0  # a worker's start, on a loaded machine  # a batch's, before its lines are tried one by one


def _worker(pattern: str, conn: Connection) -> None:
    regex = re.compile(pattern)
    conn.send("ready")
    while True:
        lines = conn.recv()
        if lines is None:
            return
        conn.send([regex.search(line) is not None for line in lines])


class BudgetGrep:
    """A compiled pattern searched within a time budget per line."""

    def __init__(self, pattern: str, budget_s: float = BUDGET_S) -> None:
        re.compile(pattern)  # re.error for a bad pattern, here, before any worker
        self.pattern = pattern
        self.budget_s = budget_s
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None
        self._start()  # now, before the caller starts any thread

    def _start(self) -> Connection:
        if self._conn is None:
            ctx = multiprocessing.get_context("forkserver")
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(self.pattern, theirs), daemon=True)
            proc.start()
            theirs.close()
            self._proc, self._conn = proc, ours
            if not ours.poll(START_S) or ours.recv() != "ready":  # its start is not its budget
                self._kill()
                raise WorkbenchError("--grep: its worker process did not start")
        return self._conn

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join()
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def _ask(self, lines: list[str], budget_s: float) -> list[bool] | None:
        conn = self._start()
        conn.send(lines)
        if conn.poll(budget_s):
            answer: list[bool] = conn.recv()
            return answer
        self._kill()
        return None

    def search(self, lines: list[str]) -> list[bool | None]:
        """For each line: whether the pattern is found in it, None when it was skipped (its
        search took longer than the budget)."""
        if not lines:
            return []
        whole = self._ask(lines, max(BATCH_S, self.budget_s))
        if whole is not None:
            return list(whole)
        found: list[bool | None] = []
        for line in lines:
            one = self._ask([line], self.budget_s)
            found.append(None if one is None else one[0])
        return found

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.send(None)
        self._kill()
