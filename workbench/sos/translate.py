"""A sosreport -> a machine root (see workbench.sos): the builders, then the manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench.core.host import Host
from workbench.machines import MANIFEST_SCHEMA
from workbench.sos.machinebuild import build_machine
from workbench.sos.model import SOURCE, SosNotes
from workbench.sos.pcibuild import build_pci
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
