"""The fleet's data: what to open, what each machine gave, the `workbench.fleet/1` document
(a contract: design.md "Fleets")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SCHEMA = "workbench.fleet/1"
EntryKind = Literal["capture", "sos", "root"]


@dataclass(frozen=True)
class FleetEntry:
    """One machine to open: `source` is what open_target takes for `kind` (a capture file, a
    sosreport archive or directory, a machine root); `name` is unique in the fleet (the
    report's or capture's host name when known, else the file's name; a clash gets `#2`);
    `within` names the bundle it was found in (a `sos collect` tarball), else None."""

    name: str
    source: str
    kind: EntryKind
    within: str | None = None


@dataclass
class FleetMachine:
    """What one machine gave: each probe's status, the causes its findings name, a summary
    line; `error` when it could not be opened at all (then statuses is empty).
    `identity`: what tells machines apart (hostname, machine_id, dmi_serial; None: not
    recorded). `facts` holds a few per-probe facts for `--compare` (kept small). `indexed`:
    the result came from the fleet index (workbench/fleet/index.py), the archive unopened;
    `index_problem`: why it could not be stored there (said once by the run, not in the
    document)."""

    name: str
    source: str
    kind: EntryKind
    statuses: dict[str, str] = field(default_factory=dict)
    causes: list[str] = field(default_factory=list)
    summary: str = ""
    error: dict[str, Any] | None = None
    identity: dict[str, str | None] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    within: str | None = None
    indexed: bool = False
    index_problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "source": self.source,
            "kind": self.kind,
            "statuses": dict(self.statuses),
            "causes": list(self.causes),
            "summary": self.summary,
            "indexed": self.indexed,
        }
        if self.within is not None:
            out["within"] = self.within
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass
class Fleet:
    """Every machine, in the order found; `probes` groups machine names by probe and status."""

    machines: list[FleetMachine]
    problems: list[str] = field(default_factory=list)  # paths that were no machine, etc.
    notes: list[str] = field(default_factory=list)  # about the run (the index), not machines

    def probes(self) -> dict[str, dict[str, list[str]]]:
        out: dict[str, dict[str, list[str]]] = {}
        for machine in self.machines:
            for probe, status in machine.statuses.items():
                out.setdefault(probe, {}).setdefault(status, []).append(machine.name)
        return out

    def causes(self) -> dict[str, list[str]]:
        """Cause code -> the machines whose findings name it."""
        out: dict[str, list[str]] = {}
        for machine in self.machines:
            for code in machine.causes:
                out.setdefault(code, []).append(machine.name)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "machines": [m.to_dict() for m in self.machines],
            "probes": self.probes(),
            "problems": list(self.problems),
        }
