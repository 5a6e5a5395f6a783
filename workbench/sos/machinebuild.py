"""The machine part of a sosreport's root: /proc files, the kernel log, what is not there.

The report mirrors the machine's own paths for /proc, /sys/module and /etc: those are copied
as they are (through the confined reader, size-capped). The kernel log becomes `logs/kernel.log`
as a capture records it, with `facts.kernel_log` saying from where.
"""

from __future__ import annotations

from workbench.sos.model import ASK_FOR, SosNotes

PROC_FILES = ("proc/cmdline", "proc/cpuinfo", "proc/meminfo", "proc/iomem")
KERNEL_LOGS = ("sos_commands/kernel/dmesg",)


def copy(notes: SosNotes, src: str, dst: str | None = None) -> bool:
    """Copy the report's `src` to the root's `dst` (default: the same path); False when the
    report does not hold it (a file it holds but cannot read is a problem of the report)."""
    data, _ = _read(notes, src)
    if data is None:
        return False
    notes.write(dst or src, data)
    notes.sources[dst or src] = src
    return True


def _read(notes: SosNotes, rel: str) -> tuple[bytes | None, str | None]:
    from workbench.core.errors import HostReadError

    try:
        return notes.report.read_bytes(rel), None
    except HostReadError as exc:
        notes.problems.append(exc.message)
        return None, exc.message


def build_machine(notes: SosNotes) -> None:
    for rel in PROC_FILES:
        if not copy(notes, rel):
            notes.missing(rel, f"/{rel}", f"collected by the kernel and memory plugins: {ASK_FOR}")
    for rel in KERNEL_LOGS:
        data, _ = _read(notes, rel)
        if data is not None:
            notes.write("logs/kernel.log", data)
            notes.facts["kernel_log"] = {
                "origin": rel,
                "lines": data.count(b"\n"),
                "truncated": False,
            }
            break
    else:
        notes.facts["kernel_log"] = {
            "why": f"the report has no kernel log (sos_commands/kernel/dmesg): {ASK_FOR}"
        }
