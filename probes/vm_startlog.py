"""A domain's last start, from its QEMU log read through core.machinelogs and judged by
explain.laststart: whether it failed and, when it did, why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.core import machinelogs
from workbench.core.host import Host
from workbench.explain.laststart import judge
from workbench.explain.model import CauseMatch


@dataclass
class LastStart:
    """What the log says of the domain's last start (`failed` None: the log does not say)."""

    log: str  # where it was read
    recorded: bool  # whether there was a log to read
    why: str | None = None  # why there was none
    first_line: int | None = None  # where the last section begins (1-based, in what was read)
    truncated: bool = False  # only the log's tail was read: line numbers count from there
    failed: bool | None = None
    reason: str | None = None  # libvirt's `shutting down, reason=` of the section
    causes: list[CauseMatch] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "log": self.log,
            "recorded": self.recorded,
            "why": self.why,
            "first_line": self.first_line,
            "truncated": self.truncated,
            "failed": self.failed,
            "reason": self.reason,
            "causes": [c.code for c in self.causes],
        }


def last_start(host: Host, vm: str) -> LastStart:
    """The last start of `vm` as its QEMU log tells it, failures explained (the causes a line
    of the log shows, not harmless ones)."""
    log = machinelogs.qemu_log(host, vm)
    if log.text is None:
        return LastStart(log.source, False, why=log.why)
    start = judge(log.text, log.source, host=host)
    return LastStart(
        log.source,
        True,
        first_line=start.first_line,
        truncated=log.truncated,
        failed=start.failed,
        reason=start.reason,
        causes=[c for c in start.causes if not c.benign],
    )
