"""The kernel log of a sosreport -> `logs/kernel.log` with `facts.kernel_log`, as a capture
records it (libvirt's daemon log is sos/qemulogs.py's).

The kernel log is the one sos.journal chose (dmesg, else this boot's journal, else syslog;
read bounded), the same every other builder reads.
"""

from __future__ import annotations

from typing import Any

from workbench.core.bounded import GAP_LINE
from workbench.core.machinelogs import KERNEL_LOG
from workbench.sos.cmdstatus import how
from workbench.sos.journal import kernel_log
from workbench.sos.model import ASK_FOR, SosNotes

KERNEL_HOW = (
    "collected by the kernel plugin (dmesg) or the logs plugin (the journal, /var/log): " + ASK_FOR
)


def build_kernel_log(notes: SosNotes) -> None:
    """`logs/kernel.log` from the kernel log sos.journal chose (the one the IOMMU groups and
    evidence were read from), or what is missing."""
    log = kernel_log(notes)
    if log.origin is not None:
        _write_kernel(notes, log.origin, log.data, log.truncated)
        if log.passed_over:
            notes.facts["kernel_log"]["tried"] = list(log.passed_over)
        return
    notes.missing(
        KERNEL_LOG,
        "the kernel log (dmesg, or the journal)",
        how(notes, "kernel", "dmesg", KERNEL_HOW),
    )
    notes.facts["kernel_log"] = {
        "origin": None,
        "lines": 0,
        "truncated": False,
        "why": "not in this sosreport: "
        + (", ".join(log.tried) + " hold no kernel lines; " if log.tried else "no kernel log; ")
        + how(notes, "kernel", "dmesg", KERNEL_HOW),
    }


def _write_kernel(notes: SosNotes, origin: str, data: bytes, truncated: bool) -> None:
    notes.write(KERNEL_LOG, data)
    notes.sources[KERNEL_LOG] = origin
    notes.facts["kernel_log"] = _log_facts(origin, data, truncated)


def _log_facts(origin: str, data: bytes, truncated: bool) -> dict[str, Any]:
    text = data.decode("utf-8", errors="replace")
    gaps = list(GAP_LINE.finditer(text))
    facts: dict[str, Any] = {
        "origin": origin,
        "lines": text.count("\n") - len(gaps),
        "truncated": truncated or bool(gaps),
    }
    if gaps:
        facts["head_lines"] = text.count("\n", 0, gaps[0].start())
        facts["left_out"] = gaps[0].group(1)
    return facts
