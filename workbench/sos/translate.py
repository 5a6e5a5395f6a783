"""A sosreport -> a machine root (see workbench.sos): the builders, then the manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench.core.host import Host
from workbench.core.machinelogs import KERNEL_LOG
from workbench.machines import MANIFEST_SCHEMA
from workbench.sos.machinebuild import build_machine
from workbench.sos.model import ASK_FOR, SOURCE, SosNotes
from workbench.sos.pcibuild import DEVICES, LSPCI_FILES, build_pci
from workbench.sos.virtbuild import build_virt


def build_root(report: Path, out: Path, name: str) -> dict[str, Any]:
    """Write the machine root of the report at `report` (its top directory, read only) into
    the empty directory `out`; returns the manifest written there as `manifest.json`."""
    notes = SosNotes(Host(report), out)
    notes.info["name"] = name
    version, _ = notes.report.try_read("version.txt")
    if version:
        for line in version.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "sosreport" and value.strip():
                notes.info["version"] = value.strip()[:40]
    build_pci(notes)
    build_machine(notes)
    build_virt(notes)
    lacking = lacks(notes)
    if lacking:
        notes.info["lacks"] = lacking
        notes.info["ask_for"] = ASK_FOR
    manifest: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "source": SOURCE,
        "sos": notes.info,
        "facts": notes.facts,
        "not_recorded": notes.not_recorded,
        "evidence": notes.evidence,
        "sources": notes.sources,
        "problems": notes.problems[:100],
    }
    notes.write("manifest.json", json.dumps(manifest, indent=1) + "\n")
    return manifest


def lacks(notes: SosNotes) -> list[str]:
    """What a passthrough verdict needs most that the builders found no source for (said in
    the report's header): lspci, the kernel command line, the kernel log (dmesg, or the
    journal or syslog it fell back to)."""
    out: list[str] = []
    held = notes.not_recorded.get(DEVICES, "").startswith(LSPCI_FILES)  # there, unreadable
    if not held and (DEVICES in notes.not_recorded or notes.sources.get("pci") not in LSPCI_FILES):
        out.append("lspci -nnvv")  # libvirt's node devices stand in for it, without all it says
    if "proc/cmdline" in notes.not_recorded:
        out.append("the kernel command line")
    if KERNEL_LOG in notes.not_recorded:
        out.append("the kernel log")
    return out
