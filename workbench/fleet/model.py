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
    document). `source` is what the user named, as shown (a bundle's node: `BUNDLE:REPORT`);
    `open_source` is the path open_target takes for `kind` (a bundle's node: its extracted
    report), "" where it is `source` (a result built without an entry)."""

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
    open_source: str = ""

    def path_to_open(self) -> str:
        """What open_target opens for this machine (`open_source`, else `source`)."""
        return self.open_source or self.source

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

    def probe_ids(self) -> list[str]:
        """Every probe any machine ran, in the order first seen (the report's order)."""
        seen: dict[str, None] = {}
        for machine in self.machines:
            seen.update(dict.fromkeys(machine.statuses))
        return list(seen)

    def clashing(self) -> list[FleetMachine]:
        """The machines whose names clash (`NAME`, `NAME#2`...: one name, several machines),
        to be shown with their sources."""
        bases: dict[str, int] = {}
        for machine in self.machines:
            base = machine.name.split("#", 1)[0]
            bases[base] = bases.get(base, 0) + 1
        return [m for m in self.machines if bases[m.name.split("#", 1)[0]] > 1]

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
