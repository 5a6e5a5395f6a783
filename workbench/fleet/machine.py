"""One machine of a fleet opened and probed here, in this process: a path -> its FleetEntry
(by content), the entry -> a FleetMachine with the facts `--compare` sets side by side.
`open_fleet` is the one door to the fleet engine (discover + run_fleet)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.core.report import Report
from workbench.fleet.model import EntryKind, Fleet, FleetEntry, FleetMachine


def entry_of(path: str | Path) -> FleetEntry:
    """The machine at `path`: a sosreport (directory or archive), a capture archive, or a
    machine root (a directory that is no report). Raises WorkbenchError for what is none."""
    from workbench.sos.detect import archive_kind, report_top

    p = Path(path)
    kind: EntryKind
    if p.is_dir():
        kind = "sos" if report_top(p) is not None else "root"
    elif p.is_file():
        found = archive_kind(p, sos_only=False)
        if found == "tar":
            raise WorkbenchError(f"{path}: neither a capture nor a sosreport")
        kind = "sos" if found == "sos" else "capture"
    else:
        raise WorkbenchError(f"{path}: no such file or directory")
    return FleetEntry(name=p.name, source=str(path), kind=kind)


def probe_entry(entry: FleetEntry) -> FleetMachine:
    """Open `entry` and run every probe on it (no hypervisor: a recorded machine's own);
    a machine that cannot be opened is a FleetMachine with `error`."""
    from workbench.core.identity import identity
    from workbench.core.runner import run_probes
    from workbench.target import open_target

    machine = FleetMachine(entry.name, entry.source, entry.kind, within=entry.within)
    where: dict[str, Any] = {entry.kind: entry.source}  # open_target's root/capture/sos
    try:
        with open_target(**where) as target:
            report = run_probes(target.host, hypervisor=target.new_hypervisor())
            machine.identity = identity(target.host)
    except WorkbenchError as exc:
        machine.error = {"message": exc.message}
        return machine
    fill(machine, report)
    return machine


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


def open_fleet(paths: list[str | Path], stack: contextlib.ExitStack | None = None) -> Fleet:
    """Every machine in `paths`, through the fleet engine (discover + run_fleet, in worker
    processes); until that engine is there, each path is one machine probed here in turn.
    `stack` keeps the engine's work directory (reports extracted from bundles) until it is
    closed: the TUI opens those machines later; without it they are removed on return."""
    found = find_entries(paths, stack)
    if found is None:  # no engine yet
        machines, problems = [], []
        for path in _expand(paths):
            try:
                machines.append(probe_entry(entry_of(path)))
            except WorkbenchError as exc:
                problems.append(exc.message)
        return Fleet(_unique(machines), problems)
    from workbench.fleet.run import run_fleet

    entries, passed = found
    fleet = run_fleet(entries)
    fleet.problems = passed + [p for p in fleet.problems if p not in passed]
    return fleet


def find_entries(
    paths: list[str | Path], stack: contextlib.ExitStack | None = None
) -> tuple[list[FleetEntry], list[str]] | None:
    """The engine's discovery (in its work directory, kept by `stack`, when it has one);
    None while discovery is not implemented."""
    from workbench.fleet import discover as module

    workdir_of: Any = getattr(module, "fleet_workdir", None)
    find: Any = module.discover
    try:
        if workdir_of is not None and stack is not None:
            entries, passed = find(list(paths), stack.enter_context(workdir_of()))
        else:
            entries, passed = find(list(paths))
    except NotImplementedError:
        return None
    return list(entries), list(passed)


def _expand(paths: list[str | Path]) -> list[str | Path]:
    """A directory that is no machine (no sosreport, no sys/ or proc/ of a root) stands for
    the files and directories in it, one level, sorted."""
    from workbench.sos.detect import report_top

    out: list[str | Path] = []
    for path in paths:
        p = Path(path)
        if p.is_dir() and not ((p / "sys").is_dir() or (p / "proc").is_dir()):
            try:
                if report_top(p) is None:
                    out += sorted(c for c in p.iterdir() if not c.name.startswith("."))
                    continue
            except WorkbenchError:
                pass
        out.append(path)
    return out


def _unique(machines: list[FleetMachine]) -> list[FleetMachine]:
    """Names unique in the fleet: the hostname when recorded, else the file's; a clash `#2`."""
    seen: dict[str, int] = {}
    for machine in machines:
        base = machine.identity.get("hostname") or machine.name
        seen[base] = seen.get(base, 0) + 1
        machine.name = base if seen[base] == 1 else f"{base}#{seen[base]}"
    return machines
