"""The one kernel log of a sosreport, chosen once, and the report's journal files.

Every reader of the kernel log (logs/kernel.log, the IOMMU groups and evidence, vgaarb's boot
VGA) reads the log `kernel_log` chose: `dmesg`'s output; when its ring buffer lost the boot's
start (or there is none), the kernel lines of this boot's journal, else of /var/log/kern.log,
messages or syslog; a wrapped dmesg is kept only when nothing holds the boot's start. Each file
is read bounded (its first part and its newest, a gap line between): a 2 GB journal is never
read whole, and the boot's lines (groups, DMAR, vgaarb) are in its first part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.core.bounded import GAP_LINE, HEAD_BYTES, TAIL_BYTES, gap_line, tail
from workbench.sos.model import KernelLog, SosNotes
from workbench.sos.reportfiles import names

DMESG = "sos_commands/kernel/dmesg"
JOURNAL_DIR = "sos_commands/logs"
VAR_LOGS = ("var/log/kern.log", "var/log/messages", "var/log/syslog")
RAW_HEAD = 2 * 1024 * 1024  # of a journal or syslog, of which kernel lines are a part
RAW_TAIL = 8 * 1024 * 1024
_STAMP = r"(?:\w{3}\s+\d{1,2}\s+\d{2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2}T\S+)"
_KERNEL_LINE = re.compile(rf"^{_STAMP}\s+\S+\s+kernel: ?(.*)$")
_BOOT_START = re.compile(r"^(?:\[\s*0\.000000\]\s*)?Linux version ")
_FIRST_TIME = re.compile(rb"^\[\s*([0-9]{1,12})\.[0-9]+\]")
# What shows a log starts at boot (then all of the boot's lines are in it).
_FROM_BOOT = re.compile(r"^\[\s*0\.0+\]|\bLinux version \d|kernel: Linux version \d", re.M)
FROM_BOOT_SCAN = 65536
WRAPPED_AFTER_S = 5  # the kernel's first line is at 0.000000; a buffer's start after this is not


@dataclass(frozen=True)
class Journals:
    """The report's journal outputs (`journalctl_--no-pager...`; the names changed at sos 4.4,
    `journalctl_--no-pager_--catalog_--boot` before), never an earlier boot's (`--boot_-1`) nor
    one unit's."""

    kernel: tuple[str, ...]  # this boot's kernel lines only (`-k`, `--dmesg`)
    boot: tuple[str, ...]  # this boot's whole journal (`--boot`, `--boot_--since_...`)
    every: tuple[str, ...]  # every boot (or since a date): this boot is cut out of it

    def all(self) -> tuple[str, ...]:
        """Every one, those of this boot's kernel lines first."""
        return self.kernel + self.boot + self.every


def journals(notes: SosNotes) -> Journals:
    """The report's journal files (see Journals), listed once per report."""
    cached = notes.cache.get("journals")
    if isinstance(cached, Journals):
        return cached
    kernel: list[str] = []
    boot: list[str] = []
    every: list[str] = []
    for name in names(notes, JOURNAL_DIR):
        if not name.startswith("journalctl_--no-pager") or "_-1" in name:
            continue
        if "--unit" in name or "_-u_" in name:
            continue
        rel = f"{JOURNAL_DIR}/{name}"
        if "_-k" in name or "--dmesg" in name:
            kernel.append(rel)
        elif "--boot" in name:
            boot.append(rel)
        elif name == "journalctl_--no-pager" or name.startswith("journalctl_--no-pager_--since"):
            every.append(rel)
    found = Journals(tuple(sorted(kernel)), tuple(sorted(boot)), tuple(sorted(every)))
    notes.cache["journals"] = found
    return found


def kernel_log(notes: SosNotes) -> KernelLog:
    """The report's kernel log of this boot, chosen once (see the module); its `origin` is
    None when the report holds none."""
    if notes.kernel_log is not None:
        return notes.kernel_log
    notes.kernel_log = chosen = _choose(notes)
    return chosen


def _choose(notes: SosNotes) -> KernelLog:
    data, truncated, problem = tail(notes.report, DMESG, TAIL_BYTES, head=HEAD_BYTES)
    if problem not in (None, "missing"):
        notes.problems.append(f"{DMESG}: {problem}")
    dmesg = data if data is not None and data.strip() else None
    if dmesg is not None and not ring_wrapped(dmesg):
        return _log(DMESG, dmesg, truncated, [DMESG])
    tried = [DMESG]
    found = journals(notes)
    for rel in (*found.all(), *VAR_LOGS):
        raw, cut, problem = tail(notes.report, rel, RAW_TAIL, head=RAW_HEAD)
        if raw is None:
            if problem != "missing":
                notes.problems.append(f"{rel}: {problem}")
            continue
        tried.append(rel)
        lines = kernel_lines(raw, this_boot=True, one_boot=rel in found.kernel + found.boot)
        if not lines:
            continue
        if dmesg is not None and not _BOOT_START.match(lines[0].decode(errors="replace")):
            continue  # no better than the wrapped dmesg: it lacks the boot's start too
        log = _log(rel, bounded(lines), cut, tried)
        if dmesg is not None:
            log.passed_over.append(f"{DMESG}: its ring buffer lost the boot's start")
        return log
    if dmesg is not None:
        return _log(DMESG, dmesg, True, tried)
    return KernelLog(None, tried=tried)


def _log(origin: str, data: bytes, truncated: bool, tried: list[str]) -> KernelLog:
    head = data[:FROM_BOOT_SCAN].decode("utf-8", errors="replace")
    return KernelLog(origin, data, truncated, _FROM_BOOT.search(head) is not None, tried)


def ring_wrapped(data: bytes) -> bool:
    """Whether dmesg's output starts after the boot (the ring buffer overwrote its start): its
    first line's time is past WRAPPED_AFTER_S; its early lines are then not in the report."""
    match = _FIRST_TIME.match(data[:64])
    return match is not None and int(match.group(1)) > WRAPPED_AFTER_S


def kernel_lines(raw: bytes, *, this_boot: bool, one_boot: bool = False) -> list[bytes]:
    """The kernel messages of syslog or journal text (the prefix of time, host and `kernel:`
    taken off); with `this_boot`, from the last boot start among them (the kernel's `Linux
    version` line, journalctl's `-- Reboot --` / `-- Boot ID --`). A gap line stays; what
    precedes it is dropped unless the text is of `one_boot` (a `--boot` journal): a reboot
    may lie in the part left out, and an earlier boot's lines are never this boot's."""
    out: list[bytes] = []
    for line in raw.decode("utf-8", errors="replace").splitlines():
        if this_boot and line.startswith(("-- Reboot --", "-- Boot ")):
            out = []
            continue
        if GAP_LINE.match(line):
            if this_boot and not one_boot:
                out = []  # the first part may be an earlier boot's: not taken as this one's
            out.append(line.encode())
            continue
        match = _KERNEL_LINE.match(line)
        if match is None:
            continue
        message = match.group(1)
        if this_boot and _BOOT_START.match(message):
            out = []  # an earlier boot's lines: not this boot's
        out.append(message.encode())
    return out


def bounded(lines: list[bytes]) -> bytes:
    """Lines joined, at most HEAD_BYTES of the first and TAIL_BYTES of the newest (a gap line
    between saying how many lines were left out)."""
    size = sum(len(line) + 1 for line in lines)
    if size <= HEAD_BYTES + TAIL_BYTES:
        return b"".join(line + b"\n" for line in lines)
    head: list[bytes] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > HEAD_BYTES:
            break
        head.append(line)
        used += len(line) + 1
    newest: list[bytes] = []
    used = 0
    for line in reversed(lines[len(head) :]):
        if used + len(line) + 1 > TAIL_BYTES:
            break
        newest.append(line)
        used += len(line) + 1
    newest.reverse()
    left = len(lines) - len(head) - len(newest)
    return (
        b"".join(line + b"\n" for line in head)
        + gap_line(f"{left} lines")
        + b"".join(line + b"\n" for line in newest)
    )
