"""The facts of one probed machine (`fill`, `compared_facts`: what `--compare` sets side by
side, filled by the fleet engine's workers: workbench/fleet/run.py `probe_entry`), and
`open_fleet`, the one door to the fleet engine (discover + run_fleet) for the API."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from workbench.core.report import Report
from workbench.fleet.model import Fleet, FleetEntry, FleetMachine


def fill(machine: FleetMachine, report: Report) -> None:
    """Statuses, causes, summary and the compared facts of `report`."""
    machine.statuses = {p.id: p.status for p in report.probes}
    causes = {f.cause for p in report.probes for f in p.findings if f.cause}
    machine.causes = sorted(causes)
    counts = report.counts()
    machine.summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    machine.facts = compared_facts(report)


def compared_facts(report: Report) -> dict[str, Any]:
    """What `--compare` puts side by side (None: the probe did not record it): each GPU's
    driver, IOMMU group and isolation; the kernel command line's parameters; hugepages;
    modules."""
    by_id = {p.id: p for p in report.probes}

    def recorded(probe_id: str) -> dict[str, Any] | None:
        result = by_id.get(probe_id)
        if result is None or result.status in ("skip", "error"):
            return None  # the probe could not judge: its facts are no record
        return result.facts

    out: dict[str, Any] = {}
    gpus = recorded("pci.gpus")
    out["gpus"] = (
        None
        if gpus is None
        else {
            str(g.get("bdf")): {
                "name": g.get("name"),
                "driver": (g.get("driver") or "no driver") if g.get("driver_known", True) else None,
                "group": g.get("iommu_group"),
                "isolated": g.get("isolated"),
            }
            for g in gpus.get("gpus", [])
            if isinstance(g, dict)
        }
    )
    cmdline = recorded("kernel.cmdline")
    raw = cmdline.get("raw") if cmdline else None
    out["cmdline"] = sorted(set(raw.split())) if isinstance(raw, str) else None
    huge = recorded("memory.hugepages")
    out["hugepages"] = None if huge is None else huge.get("hugepages_bytes")
    kvm = by_id.get("kvm.device")  # sys/module is read even when /dev/kvm is not recorded
    listed = kvm.facts.get("modules") if kvm is not None else None
    modules = {str(m) for m in listed} if isinstance(listed, list) else None
    vfio = recorded("vfio.binding")
    if modules is not None and vfio and vfio.get("module_loaded"):
        modules.add("vfio_pci")
    out["modules"] = sorted(modules) if modules is not None else None
    return out


def open_fleet(
    paths: list[str | Path], stack: contextlib.ExitStack | None = None, index: bool = True
) -> Fleet:
    """Every machine in `paths`, through the fleet engine (discover + run_fleet, in worker
    processes). `stack` keeps the engine's work directory (reports extracted from bundles,
    the workers' temp files) until it is closed: the TUI opens those machines later; without
    it the directory is removed on return. `index`: use the fleet index (fleet/index.py)."""
    from workbench.fleet.discover import fleet_workdir
    from workbench.fleet.run import run_fleet

    with contextlib.ExitStack() as own:
        workdir = (stack or own).enter_context(fleet_workdir())
        entries, passed = find_entries(paths, workdir)
        fleet = run_fleet(entries, tmpdir=workdir, index=index) if entries else Fleet(machines=[])
    fleet.problems = passed + [p for p in fleet.problems if p not in passed]
    return fleet


def find_entries(
    paths: list[str | Path], workdir: Path | None = None
) -> tuple[list[FleetEntry], list[str]]:
    """The engine's discovery: the machines in `paths` and what was passed over (a bundle's
    reports are extracted into `workdir`)."""
    from workbench.fleet.discover import discover

    entries, passed = discover(list(paths), workdir)
    return list(entries), list(passed)
