"""Lines of followed sources put in time order within a short window: each line is held up to
HOLD_S after it arrives, so a line of one source that arrives a little after a later line of
another still comes out before it. A source's own order is kept (a line's key is never before
the one before it in its source, so a continuation line stays under its record)."""

from __future__ import annotations

import collections
import heapq
from collections.abc import Iterable

from workbench.logs.sources import LogLine

HOLD_S = 0.05  # 50 ms: orders lines written together, keeps a followed line prompt


class TimeWindow:
    """Arrived lines, given out in time order once the oldest of them has waited `hold_s`."""

    def __init__(self, hold_s: float = HOLD_S) -> None:
        self.hold_s = hold_s
        # (key time, arrival number, arrived at, line)
        self._heap: list[tuple[float, int, float, LogLine]] = []
        # (arrived at, number), oldest first; numbers given out before they were due
        self._arrivals: collections.deque[tuple[float, int]] = collections.deque()
        self._early: set[int] = set()
        self._last: dict[str, float] = {}  # per source: its last line's key
        self._count = 0

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, lines: Iterable[LogLine], now: float) -> None:
        """Lines that arrived at `now` (monotonic seconds), in their sources' order."""
        for line in lines:
            before = self._last.get(line.source, float("-inf"))
            key = before if line.time is None else max(before, line.time)
            self._last[line.source] = key
            heapq.heappush(self._heap, (key, self._count, now, line))
            self._arrivals.append((now, self._count))
            self._count += 1

    def due(self, now: float) -> list[LogLine]:
        """The lines to give out at `now`: every line that has waited `hold_s`, and, in time
        order with them, every line before the latest of those in time."""
        due = set()
        while self._arrivals and now - self._arrivals[0][0] >= self.hold_s:
            number = self._arrivals.popleft()[1]
            if number in self._early:
                self._early.discard(number)
            else:
                due.add(number)
        out = []
        while due:
            _, number, _, line = heapq.heappop(self._heap)
            if number in due:
                due.discard(number)
            else:
                self._early.add(number)
            out.append(line)
        return out

    def wait_s(self, now: float) -> float | None:
        """Seconds until the next line is due (None when none is held)."""
        while self._arrivals and self._arrivals[0][1] in self._early:
            self._early.discard(self._arrivals.popleft()[1])
        if not self._arrivals:
            return None
        return max(0.0, self.hold_s - (now - self._arrivals[0][0]))

    def drain(self) -> list[LogLine]:
        """Every line held, in time order (the sources have ended)."""
        out = [heapq.heappop(self._heap)[3] for _ in range(len(self._heap))]
        self._arrivals.clear()
        self._early.clear()
        return out
