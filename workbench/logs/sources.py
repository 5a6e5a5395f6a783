"""Where log lines come from (the contract the merge, `workbench logs` and `workbench view`
share): a source yields LogLines, from its start or, when followed, from its end.

Sources (issue 14): any JSON-lines or text file, `-` (stdin), `.gz`/`.xz` read transparently,
the kernel log of this boot (journal, else /dev/kmsg, else `dmesg`), a VM's QEMU log, a
journal unit (`journalctl -o json`, streamed), and Workbench's own log. The concrete sources
are built by `open_source(spec, host)`."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class LogLine:
    """One line of one source: the source's label, its 1-based number there, the line as
    written (a JSON record or text, no newline), and its time when known (epoch seconds, UTC;
    None for a line that carries none, such as a traceback's continuation)."""

    source: str  # "kernel", "qemu:win11", "journal:libvirtd", "workbench", a path, "-"
    number: int
    raw: str
    time: float | None = None


class LogSource(ABC):
    """A source of log lines. `lines()` reads it from its start (bounded sources end);
    `follow(stop)` yields its last `context` lines, then new ones as they come, until `stop`
    is set (a thread reading a follow checks `stop` at least every 0.1 s)."""

    label: str

    @abstractmethod
    def lines(self) -> Iterator[LogLine]:
        """Every line from the start, in order."""

    @abstractmethod
    def follow(self, stop: threading.Event, *, context: int = 10) -> Iterator[LogLine]:
        """The last `context` lines, then each new line until `stop` is set."""
