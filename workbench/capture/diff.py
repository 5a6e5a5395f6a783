"""What changed between two captures of one machine: the before and after of a fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.core.host import Host
from workbench.core.runner import run_probes
from workbench.core.text import safe_text
from workbench.virt.hypervisor import Hypervisor


def state_of(host: Host, hypervisor: Hypervisor | None) -> dict[str, Any]:
    """The comparable state of a machine: probe verdicts, drivers, groups, cmdline, VMs
    (`hypervisor` is the run's: closed when it ends)."""
    report = run_probes(host, hypervisor=hypervisor)
    inv = host.pci()
    cmdline, _ = host.try_read("proc/cmdline")
    domains: dict[str, Any] | None = None  # None: not recorded (no hypervisor answered)
    for probe in report.probes:
        if probe.id == "libvirt.domains" and probe.status not in ("skip", "error"):
            domains = {}
            for dom in probe.facts.get("domains", []):
                domains[dom["name"]] = {
                    "state": dom.get("state"),
                    "hostdevs": sorted(h["bdf"] for h in dom.get("hostdevs", [])),
                }
    return {
        "probes": {p.id: {"status": p.status, "summary": p.summary} for p in report.probes},
        "drivers": {d.bdf: d.driver for d in inv.devices},
        "groups": {d.bdf: d.iommu_group for d in inv.devices},
        "cmdline": (cmdline or "").strip(),
        "domains": domains,
        "created": host.manifest.get("created"),
    }


NOT_RECORDED = "not recorded"


@dataclass
class Change:
    area: str  # probes, drivers, groups, cmdline, domains; identity (diff --force)
    item: str
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {"area": self.area, "item": self.item, "before": self.before, "after": self.after}

    def text(self) -> str:
        """The change as a line for a terminal: the machine's text (arguments, names, drivers)
        escaped, so a recorded escape sequence is shown, not run; `to_dict` stays faithful."""

        def show(value: Any) -> str:
            if value is None:
                return "no driver" if self.area == "drivers" else "(absent)"
            if isinstance(value, dict):
                value = ", ".join(f"{k}={v}" for k, v in value.items() if k != "summary") or "{}"
            return safe_text(str(value))

        if self.area == "cmdline":
            return f"cmdline  removed: {show(self.before)}; added: {show(self.after)}"
        return f"{self.area:<8} {safe_text(self.item)}: {show(self.before)} -> {show(self.after)}"


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    changes: list[Change] = []
    for area in ("probes", "drivers", "groups", "domains"):
        a, b = before[area], after[area]
        if a is None or b is None:  # VMs on one side only were recorded: no per-VM verdict
            if a is not b:
                counted = [NOT_RECORDED if x is None else f"{len(x)} VM(s)" for x in (a, b)]
                changes.append(Change(area, "VMs", *counted))
            continue
        for item in sorted(set(a) | set(b)):
            old, new = a.get(item), b.get(item)
            if area == "probes" and old and new and old["status"] == new["status"]:
                continue  # the same verdict; a summary that says a time or a count is noise
            if old != new:
                changes.append(Change(area, item, old, new))
    if before["cmdline"] != after["cmdline"]:
        old_args, new_args = set(before["cmdline"].split()), set(after["cmdline"].split())
        removed = " ".join(sorted(old_args - new_args)) or None
        added = " ".join(sorted(new_args - old_args)) or None
        changes.append(Change("cmdline", "arguments", removed, added))
    return changes
