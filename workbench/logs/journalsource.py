"""A systemd unit's journal as a source: `journalctl -o json -u UNIT`, streamed (never read
whole); `-f -n N` when followed. Where there is no journal, a clear ConfigError (exit 2)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

from workbench.core import logtools
from workbench.core.errors import ConfigError
from workbench.logs.processsource import command_lines
from workbench.logs.sourcefiles import numbered
from workbench.logs.sources import LogLine, LogSource

JOURNAL_DIRS = ("/run/log/journal", "/var/log/journal")
_UNIT = re.compile(r"[A-Za-z0-9:_.@\\-]{1,256}")


def journal_present(dirs: tuple[str, ...] = JOURNAL_DIRS) -> bool:
    """Whether this machine keeps a journal: journalctl installed and a journal file kept."""
    if logtools.which("journalctl") is None:
        return False
    for top in dirs:
        try:
            if any(path.suffix == ".journal" for path in Path(top).rglob("*.journal*")):
                return True
        except OSError:
            continue
    return False


class JournalSource(LogSource):
    """The journal of one unit (`libvirtd`, `virtqemud.service`)."""

    def __init__(self, unit: str) -> None:
        if not _UNIT.fullmatch(unit) or unit.startswith("-"):
            raise ConfigError(f"--journal: not a unit name: {unit!r}")
        if not journal_present():
            raise ConfigError(
                f"--journal {unit}: this machine has no journal (no journalctl, or no journal "
                f"files in {' or '.join(JOURNAL_DIRS)})"
            )
        self.unit = unit
        self.label = f"journal:{unit}"

    def _argv(self) -> list[str]:
        exe = logtools.which("journalctl") or "journalctl"
        return [exe, "-o", "json", "-q", "-u", self.unit]

    def lines(self) -> Iterator[LogLine]:
        """Every entry of the unit, oldest first."""
        yield from numbered(self.label, command_lines(self._argv()))

    def follow(self, stop: threading.Event, *, context: int = 10) -> Iterator[LogLine]:
        """The last `context` entries, then each new one until `stop` is set."""
        argv = [*self._argv(), "-f", "-n", str(max(0, context))]
        yield from numbered(self.label, command_lines(argv, stop))
