"""Each domain's QEMU log a sosreport holds (`var/log/libvirt/qemu/NAME.log`; a log over
sos's size limit is a link to `sos_strings/.../NAME.log.tailed`, followed inside the report
only), copied as a bounded tail to where a recorded root keeps it (core.machinelogs), and
libvirt's daemon log to `logs/libvirt.log`."""

from __future__ import annotations

import re
from typing import Any

from workbench.core.bounded import tail
from workbench.core.errors import WorkbenchError
from workbench.core.machinelogs import LIBVIRT_LOG, QEMU_LOG_DIR, qemu_log_path
from workbench.sos import reportfiles
from workbench.sos.domains import domain_name_ok
from workbench.sos.journal import journals
from workbench.sos.model import SosNotes

QEMU_LOG_BYTES = 1024 * 1024  # the newest 1 MiB of each, as a capture keeps
QEMU_LOGS_MAX = 64
LIBVIRT_LOG_BYTES = 1024 * 1024
JOURNAL_SCAN_BYTES = 16 * 1024 * 1024  # the newest 16 MiB of a journal searched for libvirtd
_DAEMON = re.compile(rb" (?:libvirtd|virtqemud|virtlogd)\[\d{1,10}\]: ")
DAEMON_LOGS = (  # the daemon's own log, else its unit's journal as the libvirt plugin records it
    "var/log/libvirt/libvirtd.log",
    "var/log/libvirt/virtqemud.log",
    "sos_commands/libvirt/journalctl_--no-pager_--unit_libvirtd",
    "sos_commands/libvirt/journalctl_--no-pager_--unit_virtqemud",
)
LIBVIRT_PLUGIN = "collected by the libvirt plugin: `sos report -o libvirt`"


def copy_qemu_logs(notes: SosNotes) -> None:
    """The QEMU logs, bounded, and `facts.qemu_logs` as a capture writes it."""
    facts: dict[str, Any] = {"dir": f"/{QEMU_LOG_DIR}", "domains": {}}
    notes.facts["qemu_logs"] = facts
    if not notes.report.is_dir(QEMU_LOG_DIR):
        facts["why"] = "not recorded"
        notes.missing(QEMU_LOG_DIR, "the QEMU logs", LIBVIRT_PLUGIN)
        return
    names = [
        n
        for n in reportfiles.names(notes, QEMU_LOG_DIR, keep=None, limit=None)
        if n.endswith(".log")
    ]
    refused = [n for n in names if not domain_name_ok(n[: -len(".log")])]
    if refused:
        facts["refused"] = [n.encode("unicode_escape").decode()[:80] for n in refused[:10]]
        notes.problems.append(f"{QEMU_LOG_DIR}: {len(refused)} log name(s) no domain can have")
    names = [n for n in names if n not in refused]
    if len(names) > QEMU_LOGS_MAX:  # the most recently written: the starts that matter now
        names = sorted(sorted(names), key=lambda n: _age(notes, f"{QEMU_LOG_DIR}/{n}"))
        facts["left_out"] = len(names) - QEMU_LOGS_MAX
        notes.problems.append(
            f"{QEMU_LOG_DIR}: {len(names)} QEMU logs; the {QEMU_LOGS_MAX} written last copied"
        )
    for name in names[:QEMU_LOGS_MAX]:
        vm = name[: -len(".log")]
        rel = qemu_log_path(vm)
        data, truncated, problem = tail(notes.report, rel, QEMU_LOG_BYTES)
        if data is None:
            facts["domains"][vm] = {"why": f"not readable ({problem})"}
            notes.problems.append(f"{rel}: not readable ({problem})")
            continue
        notes.write(rel, data)
        notes.sources[rel] = _origin(notes, rel)
        facts["domains"][vm] = {"bytes": len(data), "truncated": truncated}
        if notes.sources[rel] != rel:
            facts["domains"][vm]["tailed_by_sos"] = True


def copy_libvirt_log(notes: SosNotes) -> None:
    """libvirt's daemon log (libvirtd or virtqemud), its newest 1 MiB, as `logs/libvirt.log`."""
    for rel in DAEMON_LOGS:
        data, truncated, problem = tail(notes.report, rel, LIBVIRT_LOG_BYTES)
        if data is not None:
            notes.write(LIBVIRT_LOG, data)
            notes.sources[LIBVIRT_LOG] = rel
            notes.facts["libvirt_log"] = {
                "origin": rel,
                "lines": data.count(b"\n"),
                "truncated": truncated,
            }
            return
        if problem not in (None, "missing"):
            notes.problems.append(f"{rel}: not readable ({problem})")
    if _from_journal(notes):
        return
    notes.missing(
        LIBVIRT_LOG,
        "libvirt's log (/var/log/libvirt/libvirtd.log, or libvirtd's lines in the journal)",
        f"{LIBVIRT_PLUGIN}; the journal by the logs plugin: `sos report -o logs`",
    )


def _from_journal(notes: SosNotes) -> bool:
    """libvirt's daemon lines (`libvirtd[PID]: ...`) from the newest part of the journal, as
    `logs/libvirt.log`; False when the report's journal holds none."""
    found = journals(notes)  # a kernel-only journal holds no daemon line
    for rel in (*found.boot, *found.every):
        data, truncated, problem = tail(notes.report, rel, JOURNAL_SCAN_BYTES)
        if data is None:
            if problem not in (None, "missing"):
                notes.problems.append(f"{rel}: not readable ({problem})")
            continue
        lines = [line for line in data.splitlines(keepends=True) if _DAEMON.search(line)]
        if not lines:
            continue
        kept = b"".join(lines)
        if len(kept) > LIBVIRT_LOG_BYTES:  # the newest whole lines
            kept = kept[-LIBVIRT_LOG_BYTES:]
            kept = kept[kept.find(b"\n") + 1 :]
            truncated = True
        notes.write(LIBVIRT_LOG, kept)
        notes.sources[LIBVIRT_LOG] = rel
        notes.facts["libvirt_log"] = {
            "origin": f"{rel} (libvirt's daemon lines)",
            "lines": kept.count(b"\n"),
            "truncated": truncated,
        }
        return True
    return False


def _origin(notes: SosNotes, rel: str) -> str:
    """Where the log's bytes are in the report: itself, or the `.tailed` file it links to."""
    try:
        real = notes.report.path(rel)
        return str(real.relative_to(notes.report.root))
    except (ValueError, OSError, WorkbenchError):  # a hostile link loses only this note
        return rel


def _age(notes: SosNotes, rel: str) -> float:
    """Newest first: minus the modification time sos kept (unknown: oldest)."""
    try:
        return -notes.report.path(rel).stat().st_mtime
    except (OSError, WorkbenchError):
        return 0.0
