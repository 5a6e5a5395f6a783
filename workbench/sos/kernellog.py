"""The kernel log of a sosreport -> `logs/kernel.log` with `facts.kernel_log`, as a capture
records it (libvirt's daemon log is sos/qemulogs.py's).

The kernel log is `dmesg`'s output; else the journal's kernel lines of this boot; else the
kernel lines of /var/log/kern.log, messages or syslog (from this boot's start when the part
read shows it). Every file is read bounded (its first part and its newest, core.bounded.tail):
a 2 GB journal is never read whole.
"""

from __future__ import annotations

import re
from typing import Any

from workbench.core.bounded import GAP_LINE, HEAD_BYTES, TAIL_BYTES, gap_line, tail
from workbench.core.machinelogs import KERNEL_LOG
from workbench.sos.cmdstatus import how
from workbench.sos.model import ASK_FOR, SosNotes
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
WRAPPED_AFTER_S = 5  # the kernel's first line is at 0.000000; a buffer's start after this is not
KERNEL_HOW = (
    "collected by the kernel plugin (dmesg) or the logs plugin (the journal, /var/log): " + ASK_FOR
)


def journal_files(notes: SosNotes) -> list[str]:
    """The report's journal outputs of this boot, kernel-only ones first (`-k`, `--dmesg`);
    their names changed at sos 4.4 (`journalctl_--no-pager_--catalog_--boot` before)."""
    kernel: list[str] = []
    boot: list[str] = []
    every: list[str] = []  # the whole journal (every boot): its last boot is cut out of it
    for name in names(notes, JOURNAL_DIR):
        if not name.startswith("journalctl_--no-pager") or "_-1" in name or "--unit" in name:
            continue
        if "_-k" in name or "--dmesg" in name:
            kernel.append(f"{JOURNAL_DIR}/{name}")
        elif "--boot" in name:  # `--boot` (this one), `--boot_--since_...`; `_-1` left out above
            boot.append(f"{JOURNAL_DIR}/{name}")
        elif name == "journalctl_--no-pager" or name.startswith("journalctl_--no-pager_--since"):
            every.append(f"{JOURNAL_DIR}/{name}")
    return kernel + boot + every


def build_kernel_log(notes: SosNotes) -> None:
    """`logs/kernel.log` from the first kernel log the report holds, or what is missing. A
    dmesg whose ring buffer lost the boot's start gives way to a journal that holds it."""
    data, truncated, _ = tail(notes.report, DMESG, TAIL_BYTES, head=HEAD_BYTES)
    dmesg = data if data is not None and data.strip() else None
    wrapped = dmesg is not None and ring_wrapped(dmesg)
    if dmesg is not None and not wrapped:
        _write_kernel(notes, DMESG, dmesg, truncated)
        return
    tried = [DMESG]
    for rel in (*journal_files(notes), *VAR_LOGS):
        raw, cut, problem = tail(notes.report, rel, RAW_TAIL, head=RAW_HEAD)
        if raw is None:
            if problem != "missing":
                notes.problems.append(f"{rel}: {problem}")
            continue
        tried.append(rel)
        lines = kernel_lines(raw, this_boot=True)
        if not lines:
            continue
        if dmesg is not None and not _BOOT_START.match(lines[0].decode(errors="replace")):
            continue  # no better than the wrapped dmesg: it lacks the boot's start too
        _write_kernel(notes, rel, bounded(lines), cut)
        if dmesg is not None:
            notes.facts["kernel_log"]["tried"] = [f"{DMESG}: its ring buffer lost the boot's start"]
        return
    if dmesg is not None:
        _write_kernel(notes, DMESG, dmesg, True)
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
        + (", ".join(tried) + " hold no kernel lines; " if tried else "no kernel log; ")
        + how(notes, "kernel", "dmesg", KERNEL_HOW),
    }


def ring_wrapped(data: bytes) -> bool:
    """Whether dmesg's output starts after the boot (the ring buffer overwrote its start): its
    first line's time is past WRAPPED_AFTER_S; its early lines are then not in the report."""
    match = _FIRST_TIME.match(data[:64])
    return match is not None and int(match.group(1)) > WRAPPED_AFTER_S


def kernel_lines(raw: bytes, *, this_boot: bool) -> list[bytes]:
    """The kernel messages of syslog or journal text (the prefix of time, host and `kernel:`
    taken off); with `this_boot`, from the last boot start among them (the kernel's `Linux
    version` line, journalctl's `-- Reboot --` / `-- Boot ID --`). A gap line stays."""
    out: list[bytes] = []
    for line in raw.decode("utf-8", errors="replace").splitlines():
        if this_boot and line.startswith(("-- Reboot --", "-- Boot ")):
            out = []
            continue
        if GAP_LINE.match(line):
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
