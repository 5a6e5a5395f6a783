"""A domain's last start, judged from its QEMU log (and libvirt's error): failed, not, or not
known, and, when it failed, the causes its lines show.

libvirt appends to `/var/log/libvirt/qemu/NAME.log` a section per start: a
`...: starting up libvirt version: ...` line, the command line, what QEMU says, and when the
process ends `...: shutting down, reason=...`. The last section is the last start; an older
failure is not why the domain is off now."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workbench.core.errors import WorkbenchError
from workbench.explain.matcher import Matcher
from workbench.explain.model import CauseMatch

if TYPE_CHECKING:
    from workbench.core.host import Host

STARTED_MARK = "starting up"  # libvirt's first line of each start
ERROR_SOURCE = "libvirt"  # the source of libvirt's error text in the causes' evidence
_SHUTDOWN = re.compile(r"shutting down, reason=(?P<reason>[\w-]{1,32})")
_STARTED = "Domain id="  # libvirt's line once QEMU runs: the start itself succeeded
_WARNING = re.compile(r"\bwarning:", re.IGNORECASE)  # QEMU's: a running VM may write them
_ERRORISH = re.compile(r"error|fail|cannot|could not|denied|not viable|no such", re.IGNORECASE)


@dataclass
class LastStart:
    """The last start as the log (and libvirt's error) tells it (`failed` None: not known)."""

    failed: bool | None = None
    reason: str | None = None  # libvirt's `shutting down, reason=` of the section
    first_line: int | None = None  # where the last section begins (1-based in the text)
    section: list[str] = field(default_factory=list)  # the last section's lines
    # A failed start's causes that a line of the log or of libvirt's error shows, ranked
    # (harmless ones after); empty when it did not fail.
    causes: list[CauseMatch] = field(default_factory=list)


def last_section(text: str) -> tuple[int, list[str]]:
    """(index of its first line, its lines): the text from its last `starting up` line (all of
    it when there is none)."""
    lines = text.splitlines()
    begin = max((n for n, line in enumerate(lines) if STARTED_MARK in line), default=0)
    return begin, lines[begin:]


def verdict(
    section: list[str], causes: list[CauseMatch], sources: set[str]
) -> tuple[bool | None, str | None]:
    """(failed, reason) of a section: libvirt's `shutting down, reason=` decides when present
    (`failed` is a failed start; any other reason ended a start that had succeeded); a
    `Domain id=` line is a start that succeeded; otherwise a section with no end failed only
    when a line of `sources` that is not a warning shows a failing cause, or its last line
    reads as an error (not a warning), else not known."""
    reasons = [m["reason"] for line in section if (m := _SHUTDOWN.search(line))]
    if reasons:
        return reasons[-1] == "failed", reasons[-1]
    if any(_STARTED in line for line in section):
        return False, None
    last = next((line for line in reversed(section) if line.strip()), "")
    failing = any(
        not c.benign
        and c.severity == "fail"
        and any(e.source in sources and not _WARNING.search(e.text) for e in c.evidence)
        for c in causes
    )
    erring = bool(_ERRORISH.search(last)) and not _WARNING.search(last)
    return (True if failing or erring else None), None


def judge(
    text: str | None,
    source: str = "qemu",
    error: str | None = None,
    host: Host | None = None,
) -> LastStart:
    """The last start of a domain from its QEMU log `text` (read from `source`), libvirt's
    `error` when a start the operator asked for failed (then it failed, whatever the log
    says), and the machine's facts (`host`: they rank causes, never add one: a cause only
    the facts show is pci.device_state's finding, not why this start failed)."""
    begin, section = last_section(text) if text is not None else (0, [])
    matcher = Matcher()
    if error:
        matcher.feed_text(error, ERROR_SOURCE)
    index = matcher.next_input()
    for n, line in enumerate(section, begin + 1):
        matcher.feed(n, line, source, index)
    matcher.lines += len(section)
    if host is not None:
        with contextlib.suppress(WorkbenchError):  # unreadable facts: the lines still explain
            matcher.feed_host(host)
    fed = {ERROR_SOURCE, source}
    causes = [c for c in matcher.result().causes if any(e.source in fed for e in c.evidence)]
    failed, reason = verdict(section, causes, fed)
    if error:
        if failed is False:  # the log's last start succeeded: its lines are not this failure's
            causes = [c for c in causes if any(e.source == ERROR_SOURCE for e in c.evidence)]
        failed = True
    out = LastStart(failed, reason, begin + 1 if text is not None else None, section)
    if failed:
        out.causes = causes
    return out
