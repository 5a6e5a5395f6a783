"""The facts of one probed machine (`fill`, `compared_facts`: what `--compare` sets side by
side, filled by the fleet engine's workers: workbench/fleet/run.py `probe_entry`), and
`open_fleet`, the one door to the fleet engine (discover + run_fleet) for the API."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.errors import ConfigError
from workbench.core.report import Report
from workbench.fleet.model import Fleet, FleetEntry, FleetMachine

if TYPE_CHECKING:
    from workbench.fleet.run import Progress


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
    driver, IOMMU group, isolation and card (its other devices); the kernel command line's
    parameters; hugepages; modules."""
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
                "card": _card(g),
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


def _card(gpu: dict[str, Any]) -> list[str] | None:
    """The GPU's card, its other devices (pci.gpus `functions`: its slot's and those below the
    card's own switch); None when devices that may be its card's were not placed (no topology
    recorded), so the card is not known."""
    if gpu.get("card_unknown"):
        return None
    functions = gpu.get("functions")
    return [str(f) for f in functions] if isinstance(functions, list) else None


def open_fleet(
    paths: list[str | Path],
    *,
    index: bool = True,
    workers: int | None = None,
    progress: Progress | None = None,
    workdir: Path | None = None,
) -> Fleet:
    """Every machine in `paths`, through the fleet engine (discover + run_fleet, in worker
    processes): the one entry point of the CLI, the API and the TUI. `workdir`: where a
    bundle's reports are extracted and the workers unpack, kept by the caller (the TUI opens
    those machines later); without it, a directory of the engine's own, removed on return.
    `index`: use the fleet index (fleet/index.py); `workers`, `progress`: as run_fleet's.
    What the walk passed over leads with its limits (`limits_first`); no machine at all is a
    ConfigError (`nothing_found`)."""
    from workbench.fleet.discover import discover, fleet_workdir
    from workbench.fleet.pool import refuse_while_bootstrapping
    from workbench.fleet.run import run_fleet

    # A worker starting under a script without a __main__ guard stops here, before it makes a
    # work directory that the pool's stop (SIGTERM) would leave behind.
    refuse_while_bootstrapping()
    with contextlib.ExitStack() as own:
        work = workdir if workdir is not None else own.enter_context(fleet_workdir())
        entries, passed = discover(list(paths), work)
        passed = limits_first(passed)
        if not entries:
            raise nothing_found(passed)
        fleet = run_fleet(entries, workers, progress, work, index)
    fleet.problems = passed
    return fleet


def limits_first(problems: list[str]) -> list[str]:
    """What the walk did not look at (its limits) before the rest: machines may be missing
    there, so it leads the refusal and the "passed over" list."""
    return sorted(problems, key=lambda p: not ("the rest not looked at" in p or "not walked" in p))


def nothing_found(problems: list[str]) -> ConfigError:
    """The refusal of a fleet with no machine in its paths (the CLI's and the API's): the
    first thing passed over says why."""
    said = f": {problems[0]}" if problems else ""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return ConfigError(
        f"fleet: no machine found in the paths given{said}{more}",
        remedy="Name captures, sosreports, machine roots or folders holding them.",
    )


def find_entries(
    paths: list[str | Path], workdir: Path | None = None
) -> tuple[list[FleetEntry], list[str]]:
    """The machines in `paths` and what was passed over (a bundle's reports are extracted
    into `workdir`): discover's, for `fleet --compare` (commands/fleetcompare.py)."""
    from workbench.fleet.discover import discover

    entries, passed = discover(list(paths), workdir)
    return list(entries), list(passed)
