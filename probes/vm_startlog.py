"""A domain's last start, from its QEMU log: whether it failed and, when it did, why.

libvirt appends to `/var/log/libvirt/qemu/NAME.log` a section per start: a
`...: starting up libvirt version: ...` line, the command line, what QEMU says, and when the
process ends `...: shutting down, reason=...`. The last section is the last start."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from workbench.core import machinelogs
from workbench.core.errors import WorkbenchError
from workbench.core.host import Host
from workbench.explain.matcher import Matcher
from workbench.explain.model import CauseMatch

_SHUTDOWN = re.compile(r"shutting down, reason=(?P<reason>[\w-]{1,32})")
_ERRORISH = re.compile(r"error|fail|cannot|could not|denied|not viable|no such", re.IGNORECASE)


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


def read_qemu_log(host: Host, vm: str) -> machinelogs.MachineLog:
    """The tail of `vm`'s QEMU log through machinelogs (the contract), or, until that is
    implemented, read here from where libvirt writes it. A name that is not a file name
    (libvirt refuses `/` in names; a recording may hold anything) is never read."""
    path = machinelogs.qemu_log_path(vm)
    if not vm or "/" in vm or "\0" in vm or vm.startswith("."):
        return machinelogs.MachineLog(f"qemu:{vm}", path, None, why="not a file name")
    try:
        return machinelogs.qemu_log(host, vm)
    except NotImplementedError:
        pass  # until machinelogs lands (i13-probes): read where libvirt writes it
    except WorkbenchError as exc:
        return machinelogs.MachineLog(f"qemu:{vm}", f"/{path}", None, why=exc.message)
    data, problem = None, None
    try:
        data = host.read_bytes(path)
    except WorkbenchError as exc:  # HostReadError: present but unreadable; say why, go on
        problem = exc.message
    if data is None:
        why = problem or ("does not exist" if host.live else "not recorded")
        return machinelogs.MachineLog(f"qemu:{vm}", f"/{path}", None, why=why)
    tail = data[-machinelogs.TAIL_BYTES :]
    if len(tail) < len(data):
        tail = tail[tail.find(b"\n") + 1 :]  # the first line was cut: not a line the log holds
    return machinelogs.MachineLog(
        f"qemu:{vm}",
        f"/{path}",
        tail.decode("utf-8", "replace"),
        truncated=len(tail) < len(data),
    )


def last_start(host: Host, vm: str) -> LastStart:
    """The last start of `vm` as its QEMU log tells it, failures explained."""
    log = read_qemu_log(host, vm)
    if log.text is None:
        return LastStart(log.source, False, why=log.why)
    lines = log.text.splitlines()
    begin = max((n for n, line in enumerate(lines) if "starting up" in line), default=0)
    section = lines[begin:]
    out = LastStart(log.source, True, first_line=begin + 1, truncated=log.truncated)
    reasons = [m["reason"] for line in section if (m := _SHUTDOWN.search(line))]
    matcher = Matcher()
    index = matcher.next_input()
    for n, line in enumerate(section, begin + 1):
        matcher.feed(n, line, log.source, index)
    matcher.lines += len(section)
    matcher.feed_host(host)
    causes = [c for c in matcher.result().causes if not c.benign]
    if reasons:
        out.reason = reasons[-1]
        out.failed = out.reason == "failed"
    elif any("Domain id=" in line for line in section):
        out.failed = False  # started; still running, or the log ends before it stopped
    else:
        last = next((line for line in reversed(section) if line.strip()), "")
        out.failed = bool(causes) or bool(_ERRORISH.search(last)) or None
    if out.failed:
        out.causes = causes
    return out
