"""Several log sources merged into one timeline by time, lazily (a k-way heap merge: one line
of each source held at a time; a source is never loaded whole).

A line without a time (a continuation line, a line of an unknown layout) keeps its place after
the line before it in its own source: it takes that line's time. Lines of equal time keep their
sources' order, then their order within a source."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

from workbench.logs.sources import LogLine


def merge_by_time(sources: Iterable[Iterable[LogLine]]) -> Iterator[LogLine]:
    """The lines of all `sources` (each in its own order), as one stream ordered by time."""
    heap: list[tuple[float, int, int, LogLine, Iterator[LogLine]]] = []
    for rank, source in enumerate(sources):
        it = iter(source)
        _push(heap, rank, it, float("-inf"), 0)
    while heap:
        when, rank, seq, line, it = heapq.heappop(heap)
        yield line
        _push(heap, rank, it, when, seq + 1)


def _push(
    heap: list[tuple[float, int, int, LogLine, Iterator[LogLine]]],
    rank: int,
    it: Iterator[LogLine],
    previous: float,
    seq: int,
) -> None:
    for line in it:
        when = previous if line.time is None else line.time
        heapq.heappush(heap, (when, rank, seq, line, it))
        return
