"""Sources merged into one timeline by time, lazily."""

from __future__ import annotations

from collections.abc import Iterator

from workbench.logs.merge import merge_by_time
from workbench.logs.sources import LogLine


def lines(label: str, times: list[float | None]) -> list[LogLine]:
    return [LogLine(label, n, f"{label}-{n}", t) for n, t in enumerate(times, 1)]


def test_two_sources_interleave_by_time_and_timeless_lines_follow_their_line() -> None:
    """Lines interleave by time; a line without a time stays after its predecessor; equal
    times keep the sources' order."""
    kernel = lines("kernel", [1.0, 3.0, None, 5.0])
    qemu = lines("qemu", [2.0, 3.0, 4.0])
    merged = [line.raw for line in merge_by_time([kernel, qemu])]
    assert merged == [
        "kernel-1", "qemu-1", "kernel-2", "kernel-3", "qemu-2", "qemu-3", "kernel-4"
    ]  # fmt: skip


def test_merge_is_lazy() -> None:
    """Only a line per source is taken before the first line is given: an endless source
    (a followed log) merges too."""

    def endless(label: str) -> Iterator[LogLine]:
        n = 0
        while True:
            n += 1
            yield LogLine(label, n, f"{label}-{n}", float(n))

    merged = merge_by_time([endless("a"), endless("b")])
    assert [next(merged).raw for _ in range(4)] == ["a-1", "b-1", "a-2", "b-2"]
