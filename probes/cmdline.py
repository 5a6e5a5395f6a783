"""`kernel.cmdline`: the passthrough-related kernel parameters the machine booted with."""

from __future__ import annotations

import re
from typing import Any

from probes.cmdline_iommu import NOTES, VIRTUAL, missing_iommu_param
from probes.parsers import parse_cmdline
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Finding, Outcome, worst

_ID = re.compile(r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}(?::[0-9a-fA-F]{4}:[0-9a-fA-F]{4})?$")
FRAMEBUFFER = {"video", "nofb", "initcall_blacklist"}
BLACKLIST = {"modprobe.blacklist", "module_blacklist", "rd.driver.blacklist"}
HUGEPAGES = {"default_hugepagesz", "hugepagesz", "hugepages"}
ISOLATION = {"isolcpus", "nohz_full", "rcu_nocbs", "irqaffinity"}


def split_ids(value: str | None) -> tuple[list[str], list[str]]:
    """`10de:2484,10de:228b` -> (valid ids lower-cased, malformed entries)."""
    good: list[str] = []
    bad: list[str] = []
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        (good if _ID.match(item) else bad).append(item.lower())
    return good, bad


def vfio_ids(params: list[tuple[str, str | None]]) -> list[str]:
    """Every vendor:device the command line hands to vfio-pci."""
    ids: list[str] = []
    for name, value in params:
        if name == "vfio_pci.ids":
            ids += split_ids(value)[0]
    return ids


class KernelCmdline(Probe):
    id = "kernel.cmdline"
    title = "Kernel command line"
    area = "kernel"
    order = 40
    consults = ("iommu.enabled",)  # the IOMMU off: what the command line lacks for it

    def run(self, ctx: ProbeContext) -> Outcome:
        text = ctx.host.read_required("proc/cmdline").strip()
        params = parse_cmdline(text)
        found: dict[str, Any] = {
            "iommu": {},
            "pcie_acs_override": None,
            "vfio_pci_ids": [],
            "framebuffer": [],
            "driver_blacklist": [],
            "driver_preload": [],
            "hugepages": [],
            "cpu_isolation": [],
            "unsafe": [],
        }
        findings: list[Finding] = []
        for name, value in params:
            shown = name if value is None else f"{name}={value}"
            if name in ("intel_iommu", "amd_iommu", "iommu"):
                found["iommu"][name] = value
            elif name == "pcie_acs_override":
                found["pcie_acs_override"] = value
            elif name == "vfio_pci.ids":
                good, bad = split_ids(value)
                found["vfio_pci_ids"] += good
                if bad:
                    findings.append(
                        Finding(
                            "CMDLINE_BAD_VFIO_IDS",
                            "warn",
                            f"vfio-pci.ids has malformed entries: {', '.join(bad)}.",
                            "Write ids as vendor:device in hex, comma-separated "
                            "(vfio-pci.ids=10de:2484,10de:228b).",
                        )
                    )
            elif name in FRAMEBUFFER or name == "video":
                found["framebuffer"].append(shown)
            elif name in BLACKLIST:
                found["driver_blacklist"].append(shown)
            elif name == "rd.driver.pre":
                found["driver_preload"].append(shown)
            elif name in HUGEPAGES:
                found["hugepages"].append(shown)
            elif name in ISOLATION:
                found["cpu_isolation"].append(shown)
            elif name == "vfio_iommu_type1.allow_unsafe_interrupts" and value in ("1", "Y", "y"):
                found["unsafe"].append(shown)
        if found["pcie_acs_override"] is not None:
            findings.append(
                Finding(
                    "CMDLINE_ACS_OVERRIDE",
                    "warn",
                    f"pcie_acs_override={found['pcie_acs_override']} splits IOMMU groups by "
                    "pretending devices isolate each other: the isolation is not real, and a "
                    "passed-through device can reach others in its true group.",
                    "Prefer a slot whose group is isolated without the override (a CPU-attached "
                    "slot) and drop pcie_acs_override; keep it only if you accept the risk.",
                )
            )
        for name, value in found["iommu"].items():
            if value == "off":
                findings.append(
                    Finding(
                        "CMDLINE_IOMMU_OFF",
                        "warn",
                        f"{name}=off disables the IOMMU that passthrough needs.",
                        f"Remove {name}=off from the kernel command line.",
                    )
                )
        missing = missing_iommu_param(found["iommu"], ctx.results.get("iommu.enabled"), ctx.host)
        if missing is not None:
            findings.append(missing)
        if found["unsafe"]:
            findings.append(
                Finding(
                    "CMDLINE_UNSAFE_INTERRUPTS",
                    "warn",
                    "vfio_iommu_type1.allow_unsafe_interrupts=1 lets a guest inject interrupts on "
                    "platforms without interrupt remapping.",
                    "Remove it unless the platform truly lacks interrupt remapping.",
                )
            )
        inv = ctx.host.pci()
        present = {d.ids for d in inv.devices}
        # Absence is judged only when every device's ids are known (recorded and readable).
        known = inv.devices_recorded and all(d.vendor and d.device for d in inv.devices)
        absent = [i for i in found["vfio_pci_ids"] if i[:9] not in present] if known else []
        if absent:
            findings.append(
                Finding(
                    "CMDLINE_VFIO_IDS_ABSENT",
                    "warn",
                    f"vfio-pci.ids names devices this machine does not have: {', '.join(absent)}.",
                    "Check the ids against `lspci -nn` (vendor:device of the GPU and its audio).",
                )
            )
        found["parameters"] = len(params)
        found["raw"] = text
        summary_bits = [f"{k}={v}" if v is not None else k for k, v in found["iommu"].items()]
        if found["vfio_pci_ids"]:
            summary_bits.append("vfio-pci.ids=" + ",".join(found["vfio_pci_ids"]))
        if found["pcie_acs_override"] is not None:
            summary_bits.append(f"pcie_acs_override={found['pcie_acs_override']}")
        summary_bits += found["framebuffer"]
        summary = " ".join(summary_bits) or "no passthrough-related parameters"
        if missing is not None and missing.code == "CMDLINE_IOMMU_NOT_EFFECTIVE":
            summary += "; the IOMMU is off all the same (the firmware's setting)"
        elif missing is not None and missing.code == VIRTUAL:
            summary += "; the IOMMU is off: this VM's host must give it one (see iommu.enabled)"
        elif missing is not None and missing.code in NOTES:
            summary += "; the IOMMU is off, nothing here is missing (see iommu.enabled)"
        elif missing is not None:
            summary += "; the IOMMU is off and nothing here turns it on"
        status = worst(findings)
        return Outcome(status, summary, found, findings)
