"""Why a VM did not start: libvirt's error text, the tail of its QEMU log (its last start only)
and the machine's facts, explained by the cause catalogue. Blocking (reads files): called on
worker threads only; no UI here."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.core.host import Host
from workbench.explain.matcher import Matcher

LIBVIRT_SOURCE = "libvirt"
FAILED_MARK = "shutting down, reason=failed"  # what libvirt writes when QEMU did not start
STARTED_MARK = "starting up"  # libvirt's first line of each start
TAIL_LINES = 4  # shown when no cause of the catalogue matches


@dataclass(frozen=True)
class StartFailure:
    """A VM's failed start, explained (or why it could not be)."""

    vm: str
    error: str | None  # libvirt's error, when an action of the operator's failed
    log_source: str | None  # where the QEMU log came from
    log_why: str | None  # why there is no QEMU log to read (None when there is one)
    causes: list[dict[str, Any]] = field(default_factory=list)  # CauseMatch.to_dict(), ranked
    tail: list[str] = field(default_factory=list)  # the log's last lines of that start
    failed: bool = True  # False: the log's last start did not fail (nothing to explain)


def last_start(text: str) -> str:
    """The lines of the log's last start: a domain's log holds every start since it was
    created, and an old failure is not why it is off now."""
    lines = text.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if STARTED_MARK in lines[i]:
            return "\n".join(lines[i:])
    return text


def read_qemu_log(host: Host, vm: str) -> tuple[str | None, str | None, str | None]:
    """(text, source, why not): the tail of `vm`'s QEMU log, through core.machinelogs."""
    from workbench.core.machinelogs import qemu_log

    # A recording's domain names are anyone's: one that is not a plain file name is not read.
    if not vm or "/" in vm or "\0" in vm or vm.startswith("."):
        return None, None, "QEMU log not read: the VM's name is not a file name"
    try:
        log = qemu_log(host, vm)
    except NotImplementedError:
        return None, None, "QEMU log not available: this Workbench cannot read it yet"
    except WorkbenchError as exc:
        return None, None, f"QEMU log not available: {exc.message}"
    if log is None or log.text is None:
        why = (log.why if log is not None else None) or "not recorded"
        return None, getattr(log, "source", None), f"QEMU log not available: {why}"
    return log.text, log.source, None


def explain_start_failure(root: str, vm: str, error: str | None = None) -> StartFailure:
    """Explain `vm`'s failed start on the machine at `root`. With `error` (a start the operator
    asked for failed), it failed for sure; without (a VM found shut off), only when its log's
    last start says so (`reason=failed`) or shows a cause that is not harmless."""
    host = Host(root)
    text, source, why = read_qemu_log(host, vm)
    matcher = Matcher()
    if error:
        matcher.feed_text(error, source=LIBVIRT_SOURCE)
    session = last_start(text) if text is not None else ""
    log_source = source or "qemu"
    if session:
        matcher.feed_text(session, source=log_source)
    # The machine's facts only rank causes: unreadable, the lines alone still explain.
    with contextlib.suppress(WorkbenchError):
        matcher.feed_host(host)
    # Only causes a line of this start shows: a cause the machine's facts alone show (the
    # host's own GPU behind efifb) is the device probes' to report, not why this VM failed.
    fed = {LIBVIRT_SOURCE, log_source}
    causes = [
        c.to_dict() for c in matcher.result().causes if any(e.source in fed for e in c.evidence)
    ]
    failed = bool(error) or FAILED_MARK in session or any(not c["benign"] for c in causes)
    tail = [line for line in session.splitlines() if line.strip()][-TAIL_LINES:]
    return StartFailure(vm, error, source, why, causes, tail, failed)
