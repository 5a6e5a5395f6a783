"""`pci.gpus`: every GPU, its driver and IOMMU group, and whether it can be passed through alone."""

from __future__ import annotations

from typing import Any

from probes.cmdline import vfio_ids
from probes.names import describe, device_name
from probes.parsers import parse_cmdline
from workbench.core.host import Host
from workbench.core.pci import PciDevice, PciInventory
from workbench.core.pcitopo import TOPOLOGY_RECORDED
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import CAPTURE_HINT, Finding, Outcome, unreadable, worst
from workbench.core.viability import blocks_isolation

VFIO_DRIVER = "vfio-pci"


def gpu_facts(inv: PciInventory, gpu: PciDevice) -> dict[str, Any]:
    """One GPU in the `pci.gpus` facts contract (design.md). `functions` are its card's other
    devices (core.pcitopo: its slot's, and below the card's own switch); `card_switch` that
    switch; `card_recorded` False when where the GPU sits is not recorded (a flat listing),
    and then `card_nearby` holds the devices that may be its card's (`may_be_card`), and
    `card_unknown` those of them in its IOMMU group, judged neither blockers nor the card's:
    `isolated` is then null unless another member blocks it."""
    functions = inv.card_functions(gpu)
    card = {f.bdf for f in functions}
    known = inv.card_recorded(gpu.bdf)
    nearby = [] if known else [d.bdf for d in inv.devices if may_be_card(inv, gpu, d)]
    unknown: list[str] = []
    if gpu.iommu_group is None:
        blockers: list[str] | None = None
    else:
        blockers = []
        for bdf in inv.group_members(gpu.iommu_group):
            if bdf == gpu.bdf or bdf in card:
                continue
            member = inv.by_bdf.get(bdf)
            if member is not None and not blocks_isolation(member):
                continue
            if bdf in nearby:
                unknown.append(bdf)
                continue
            blockers.append(bdf)
    isolated = None if blockers is None or (unknown and not blockers) else not blockers
    return {
        "bdf": gpu.bdf,
        "vendor": gpu.vendor,
        "device": gpu.device,
        "class": gpu.class4,
        "name": device_name(gpu),
        "driver": gpu.driver,
        "driver_known": gpu.driver_known,  # False: `driver` None is "not known", not "no driver"
        "iommu_group": gpu.iommu_group,
        "boot_vga": gpu.boot_vga,
        "functions": [f.bdf for f in functions],
        "isolated": isolated,
        "blockers": blockers,
        "card_switch": inv.card_switch(gpu.bdf),
        "card_recorded": known,
        "card_unknown": unknown,
        "card_nearby": nearby,
    }


NEARBY_BUSES = 2  # switch -> port -> GPU -> audio: the card's other devices sit 1..2 buses on


def may_be_card(inv: PciInventory, gpu: PciDevice, dev: PciDevice) -> bool:
    """Whether `dev` could be the GPU's own, below the card's PCIe switch, had the topology
    been recorded: a non-GPU, non-bridge device of the GPU's vendor whose slot holds no GPU,
    on a bus 1..NEARBY_BUSES after the GPU's, in its domain. A GPU on bus 00 (integrated) has
    no card switch; anything else (another card's function, a chipset device, another
    vendor's) stays a blocker."""
    if dev.is_gpu or dev.is_bridge or dev.vendor is None or dev.vendor != gpu.vendor:
        return False
    if any(d.is_gpu for d in inv.by_slot.get(dev.slot, ())):
        return False
    (gdom, gbus), (ddom, dbus) = _bus(gpu.bdf), _bus(dev.bdf)
    return gdom == ddom and gbus != 0 and 0 < dbus - gbus <= NEARBY_BUSES


def _bus(bdf: str) -> tuple[str, int]:
    domain, bus = bdf.split(":")[:2]
    return domain, int(bus, 16)


def inventory_findings(inv: PciInventory) -> list[Finding]:
    """What the PCI scan could not read, as findings: a device whose class is unknown may be a
    GPU this report cannot see (fail); other unreadable facts are warnings."""
    out: list[Finding] = []
    unknown = [d for d in inv.devices if d.pci_class is None]
    if unknown:
        shown = "; ".join(f"{d.bdf} ({', '.join(d.problems) or 'class unknown'})" for d in unknown)
        out.append(
            Finding(
                "PCI_DEVICE_UNREADABLE",
                "fail",
                f"{len(unknown)} PCI device(s) could not be identified, so a GPU among them "
                f"would be missed: {_first(shown)}",
                "Run Workbench as root (or with read access to sysfs), or capture the machine "
                "again with `workbench capture`.",
            )
        )
    others = [*inv.problems]
    others += [p for d in inv.devices if d.pci_class is not None for p in d.problems]
    if others:
        out.append(
            Finding(
                "PCI_INVENTORY_PROBLEMS",
                "warn",
                f"{len(others)} problem(s) reading the PCI devices: {_first('; '.join(others))}",
                "Run Workbench as root, or capture the machine again with `workbench capture`.",
            )
        )
    return out


def _first(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def left_out(devices: list[PciDevice]) -> str:
    """Why functions are missing from a proposed `vfio-pci.ids=` line ('' when none is): an id
    that could not be read is never guessed."""
    return "".join(
        f" {d.bdf} is left out: its {d.unknown_ids} is not recorded or unreadable "
        f"(`lspci -nn -s {d.bdf}` on the machine shows it)."
        for d in devices
    )


def is_candidate(gpu: dict[str, Any], count: int) -> bool:
    """A GPU meant for a guest: bound to vfio-pci, or not the host's boot GPU when there are two."""
    return gpu["driver"] == VFIO_DRIVER or (count > 1 and gpu["boot_vga"] is not True)


def _single(host: Host, gpu: dict[str, Any]) -> Finding:
    """The one GPU stays with the host: said as the host boots on it only when it is known to."""
    remedy = (
        "Add a second GPU for the guest, or follow a single-GPU passthrough guide "
        "(hooks that stop the display manager and unbind the GPU before the VM starts)."
    )
    hint = (
        None
        if gpu["boot_vga"] is not None
        else host.record_hint(f"sys/bus/pci/devices/{gpu['bdf']}/boot_vga")
    )
    why = "and the host boots on it"
    if hint:  # a recording that says it does not know which GPU the firmware booted on
        why = f"the host's only display; whether it boots on it is not recorded ({hint})"
    return Finding(
        "GPU_SINGLE",
        "warn",
        f"Only one GPU ({gpu['bdf']}), {why}: passing it through leaves the host without a "
        "display (single-GPU passthrough).",
        remedy,
    )


def _card_not_recorded(host: Host, gpu: dict[str, Any], candidate: bool) -> Finding:
    """Where the GPU sits is not recorded, so whether devices of its vendor on the next buses
    are its own card's (behind the card's PCIe switch) is not judged: a warning for a guest
    candidate when they share its IOMMU group (isolation not judged), else a note (its card,
    and so its vfio-pci ids line, may lack them)."""
    hint = host.record_hint(TOPOLOGY_RECORDED)  # a sosreport's words: "not in this sosreport"
    how = hint or f"not recorded: {CAPTURE_HINT} (or `lspci -tv` there shows the tree)"
    if gpu["card_unknown"]:
        what = (
            f"whether {', '.join(gpu['card_unknown'])} (same vendor, in IOMMU group "
            f"{gpu['iommu_group']}) belongs to its card behind the card's own PCIe switch or "
            "blocks it is not judged"
        )
    else:
        what = (
            f"whether {', '.join(gpu['card_nearby'])} (same vendor, on the next bus) belongs to "
            "its card behind the card's own PCIe switch is not judged, so its card (and the "
            "vfio-pci ids line) may lack it"
        )
    return Finding(
        "GPU_CARD_NOT_RECORDED",
        "warn" if candidate and gpu["card_unknown"] else "info",
        f"GPU {gpu['bdf']}: {what}: the PCI topology is {how}.",
        "Record where the devices sit: `workbench capture` on the machine, or a sosreport with "
        "its pci plugin (`lspci -tv`).",
    )


def gpus(inv: PciInventory) -> list[dict[str, Any]]:
    return [gpu_facts(inv, d) for d in inv.devices if d.is_gpu]


class PciGpus(Probe):
    id = "pci.gpus"
    title = "GPUs and isolation"
    area = "gpu"
    order = 60

    def run(self, ctx: ProbeContext) -> Outcome:
        host = ctx.host
        inv = host.pci()
        if not inv.devices_recorded:
            where = "sys/bus/pci/devices"
            reason = "permission" if host.is_dir(where) else "missing"
            return unreadable(where, reason, live=False, host=host)
        found = gpus(inv)
        facts: dict[str, Any] = {"gpus": found, "enumerated_by": inv.enumerated_by}
        findings = inventory_findings(inv)
        unknown = [d for d in inv.devices if d.pci_class is None]
        if not found:
            if unknown:  # a GPU may hide among them: do not say there is none
                summary = f"no GPU identified; {len(unknown)} PCI device(s) could not be read"
                return Outcome("fail", summary, facts, findings)
            findings.append(
                Finding(
                    "GPU_NONE",
                    "fail",
                    f"No GPU (PCI class 03) among the {len(inv.devices)} PCI devices.",
                    "Check that the card is seated and powered and that the slot is enabled in "
                    "the firmware; `lspci -nn | grep -e VGA -e 3D` should list it.",
                )
            )
            return Outcome("fail", f"no GPU among {len(inv.devices)} PCI devices", facts, findings)
        cmdline, _ = host.try_read("proc/cmdline")
        params = parse_cmdline(cmdline or "")
        acs = any(name == "pcie_acs_override" for name, _ in params)
        candidates = [g for g in found if is_candidate(g, len(found))]
        for gpu in found:
            findings += self._judge(inv, gpu, gpu in candidates, acs, vfio_ids(params))
            if gpu["card_nearby"]:
                findings.append(_card_not_recorded(host, gpu, gpu in candidates))
        if len(found) == 1 and not candidates:
            findings.append(_single(host, found[0]))
        if not inv.groups_recorded:
            hint = host.record_hint("sys/kernel/iommu_groups")
            findings.append(
                Finding(
                    "GPU_GROUPS_NOT_RECORDED",
                    "info",
                    "sys/kernel/iommu_groups is not recorded, so isolation cannot be judged: "
                    + (hint or "capture with `workbench capture` on the machine."),
                )
            )
        elif any(g["isolated"] is None for g in found) and not inv.groups:
            findings.append(
                Finding(
                    "GPU_NO_GROUPS",
                    "warn",
                    "There are no IOMMU groups, so no GPU can be passed through (see iommu.enabled).",
                    None,
                )
            )
        status = worst(findings)
        if not inv.groups_recorded:
            pass  # isolation unknown: judged on the other findings only
        elif not inv.groups:
            status = "fail" if status == "fail" else "warn"  # iommu.enabled fails with the cause
        elif (
            candidates
            and not any(g["isolated"] for g in candidates)
            # a candidate whose card is not recorded is not judged: never "not isolated"
            and not any(g["isolated"] is None and g["card_unknown"] for g in candidates)
        ):
            status = "fail"
        # A GPU whose ids are unknown cannot be named to vfio-pci nor judged: never "ready".
        unidentified = [g["bdf"] for g in candidates if not inv.by_bdf[g["bdf"]].identified]
        isolated = [g["bdf"] for g in candidates if g["isolated"] and g["bdf"] not in unidentified]
        if not inv.groups_recorded:
            summary = f"{len(found)} GPU(s); isolation not recorded"
        elif not inv.groups:
            summary = f"{len(found)} GPU(s); isolation unknown without IOMMU groups"
        elif isolated:
            summary = f"{len(found)} GPU(s); passthrough-ready: {', '.join(isolated)}"
        elif unidentified:
            summary = f"{len(found)} GPU(s); ids unknown, cannot judge: {', '.join(unidentified)}"
        elif unsure := [g["bdf"] for g in candidates if g["card_unknown"]]:
            summary = f"{len(found)} GPU(s); card not recorded, isolation not judged: " + ", ".join(
                unsure
            )
        elif candidates:
            summary = f"{len(found)} GPU(s); none of the guest candidates is isolated"
        else:
            summary = f"{len(found)} GPU(s); no second GPU for a guest"
        if unknown:
            summary += f"; {len(unknown)} PCI device(s) could not be read"
        return Outcome(status, summary, facts, findings)

    def _judge(
        self,
        inv: PciInventory,
        gpu: dict[str, Any],
        candidate: bool,
        acs_override: bool,
        cmdline_ids: list[str],
    ) -> list[Finding]:
        out: list[Finding] = []
        dev = inv.by_bdf[gpu["bdf"]]
        label = f"{gpu['bdf']} ({gpu['name'] or (dev.ids if dev.identified else 'ids unknown')})"
        if candidate and not dev.identified:
            out.append(
                Finding(
                    "GPU_IDENTITY_UNKNOWN",
                    "warn",
                    f"GPU {gpu['bdf']}: its {dev.unknown_ids} is not recorded or unreadable, so "
                    "whether it can be passed through cannot be judged (vfio-pci binds by ids).",
                    "Read its ids with `lspci -nn -s "
                    f"{gpu['bdf']}` on the machine, or capture the machine again as root with "
                    "`workbench capture`.",
                )
            )
        if gpu["isolated"] is False:
            blockers = [describe(inv.by_bdf[b]) if b in inv.by_bdf else b for b in gpu["blockers"]]
            role = "guest GPU candidate" if candidate else "host GPU"
            severity: Any = (
                "fail" if gpu["driver"] == VFIO_DRIVER else "warn" if candidate else "info"
            )
            out.append(
                Finding(
                    "GPU_NOT_ISOLATED",
                    severity,
                    f"{role} {label} shares IOMMU group {gpu['iommu_group']} with "
                    f"{len(blockers)} other device(s): " + "; ".join(blockers),
                    "Move the card to a CPU-attached slot (usually the top x16 slot) whose group "
                    "holds only the GPU and its own functions, or pass the whole group through; "
                    "a host GPU there is fine as long as it stays with the host."
                    if candidate
                    else None,
                )
            )
        elif gpu["isolated"] and candidate and acs_override:
            out.append(
                Finding(
                    "GPU_ISOLATED_BY_ACS_OVERRIDE",
                    "warn",
                    f"{label} is isolated only because pcie_acs_override splits its group.",
                    "See kernel.cmdline: the isolation is not enforced by hardware.",
                )
            )
        if candidate and gpu["driver"] is None and gpu["driver_known"]:
            out.append(
                Finding(
                    "GPU_NO_DRIVER",
                    "info",
                    f"{label} has no driver bound.",
                    None,
                )
            )
        if candidate and gpu["driver"] not in (None, VFIO_DRIVER):
            ids = inv.card_ids(gpu["bdf"])
            if dev.identified and dev.ids not in cmdline_ids:
                out.append(
                    Finding(
                        "GPU_ON_HOST_DRIVER",
                        "info",
                        f"{label} is driven by {gpu['driver']}; libvirt's managed hostdev rebinds it "
                        "at VM start, or bind it to vfio-pci at boot.",
                        f"To bind at boot: add vfio-pci.ids={ids} to the kernel command line."
                        + left_out(inv.unidentified(gpu["bdf"])),
                    )
                )
        return out
