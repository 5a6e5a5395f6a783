"""Why a VM did not start: libvirt's error text and the tail of its QEMU log (its last start
only), judged by explain.laststart. Blocking (reads files): called on worker threads only; no
UI here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.core.host import Host
from workbench.core.machinelogs import qemu_log
from workbench.explain.laststart import judge

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


def read_qemu_log(host: Host, vm: str) -> tuple[str | None, str | None, str | None]:
    """(text, source, why not): the tail of `vm`'s QEMU log, through core.machinelogs."""
    # A recording's domain names are anyone's: one that is not a plain file name is not read.
    if not vm or "/" in vm or "\0" in vm or vm.startswith("."):
        return None, None, "QEMU log not read: the VM's name is not a file name"
    log = qemu_log(host, vm)
    if log.text is None:
        return None, log.source, f"QEMU log not available: {log.why or 'not recorded'}"
    return log.text, log.source, None


def explain_start_failure(
    root: str, vm: str, error: str | None = None, remote: str | None = None
) -> StartFailure:
    """Explain `vm`'s failed start on the machine at `root`. With `error` (a start the operator
    asked for failed), it failed for sure; without (a VM found shut off), only when its log's
    last start says so. A VM of a `remote` hypervisor (its host) has its log on that machine:
    this one's files are neither read nor its facts used."""
    if remote is not None:
        elsewhere = f"QEMU log not recorded (remote hypervisor: run workbench on {remote})"
        start = judge(None, error=error)
        causes = [c.to_dict() for c in start.causes]
        return StartFailure(vm, error, None, elsewhere, causes, [], bool(start.failed))
    host = Host(root)
    text, source, why = read_qemu_log(host, vm)
    start = judge(text, source or "qemu", error, host)
    causes = [c.to_dict() for c in start.causes]
    tail = [line for line in start.section if line.strip()][-TAIL_LINES:]
    return StartFailure(vm, error, source, why, causes, tail, bool(start.failed))
