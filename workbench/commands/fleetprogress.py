"""`fleet --progress`: `N/M machines, K from the index` on stderr. On a terminal one line
rewritten in place (`\r`), ended before anything else is said (Ctrl-C's message, a note);
into a file or a pipe one line per tenth of the fleet or per second, whichever comes later,
and the last."""

from __future__ import annotations

import time
from typing import TextIO

EVERY_S = 1.0  # at most one line a second into a file


class Counter:
    """The fleet's progress callback (run_fleet's `progress`)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.terminal = out.isatty()
        self.open = False  # a terminal line written without its end
        self.last_at = 0.0
        self.last_done = 0

    def __call__(self, done: int, total: int, indexed: int) -> None:
        said = f"{done}/{total} machines, {indexed} from the index"
        if self.terminal:
            # open before the write: a "\r" flushes at once, and Ctrl-C may come right after
            self.open = done < total
            self.out.write(f"\r{said}" + ("" if self.open else "\n"))
        else:
            now = time.monotonic()
            step = max(1, total // 10)
            if done < total and (done - self.last_done < step or now - self.last_at < EVERY_S):
                return
            self.last_at, self.last_done = now, done
            self.out.write(f"{said}\n")
        self.out.flush()

    def end(self) -> None:
        """End a terminal line left open (the run stopped mid-way)."""
        if self.open:
            self.out.write("\n")
            self.out.flush()
            self.open = False
