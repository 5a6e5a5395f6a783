"""Fact checks the catalogue names: each reads the Facts (and the subject the lines gave) and
returns what supports its cause, or None. A check never raises on odd facts, and says nothing
(None) when the fact it needs was not recorded: absence of evidence is not evidence."""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.core import devstate
from workbench.core.devstate import Range
from workbench.core.viability import PASSTHROUGH_DRIVERS, is_passthrough_driver, keeps_viable
from workbench.explain.facts import Device, Facts
from workbench.explain.model import Evidence

HOST_GPU_DRIVERS = frozenset({"nvidia", "nouveau", "amdgpu", "radeon", "i915", "xe", "nvidiafb"})
VIRT_FLAGS = frozenset({"vmx", "svm"})


@dataclass
class CheckHit:
    evidence: list[Evidence] = field(default_factory=list)
    subject: dict[str, str] = field(default_factory=dict)
    # Only a log's words showed it (driver lines), not the machine's own facts: a seed check's
    # cause is then suggestive, not a verdict (catalogue.Check.seed).
    from_lines_only: bool = False


def _subject_devices(facts: Facts, subject: dict[str, str]) -> list[Device]:
    """The devices the lines are about: the subject's device, else its group's members, else
    the GPUs the facts know, else the devices seen on a GPU or passthrough driver."""
    bdf = subject.get("bdf")
    if bdf:  # another device's facts say nothing about this one
        return [facts.devices[bdf]] if bdf in facts.devices else []
    group = subject.get("group")
    if group is not None and group.isdigit() and len(group) <= 10:  # int() refuses 4,300+ digits
        members = [d for d in facts.devices.values() if d.group == int(group) and not d.is_bridge]
        gpus = [d for d in members if d.is_gpu or d.driver in HOST_GPU_DRIVERS]
        if gpus or members:
            return gpus or members
        if any(d.group is not None for d in facts.devices.values()):
            return []  # the groups are known and this one has no member the facts show
    gpus = [d for d in facts.devices.values() if d.is_gpu]
    if gpus:
        return gpus
    drivers = HOST_GPU_DRIVERS | PASSTHROUGH_DRIVERS
    return [d for d in facts.devices.values() if d.driver in drivers and d.bdf.endswith(".0")]


def gpu_on_host_driver(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """The GPU the lines are about is bound to a host graphics driver."""
    for dev in _subject_devices(facts, subject):
        if dev.driver in HOST_GPU_DRIVERS:
            return CheckHit(list(dev.evidence), {"bdf": dev.bdf, "driver": dev.driver or ""})
    return None


def gpu_on_passthrough_driver(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """The GPU the lines are about is on vfio-pci or pci-stub (an lspci block, a driver line,
    the machine): its own driver is not what stops it."""
    for dev in _subject_devices(facts, subject):
        if is_passthrough_driver(dev.driver):
            return CheckHit(list(dev.evidence), {})
    return None


def group_member_on_host_driver(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """Another function of the GPU's card (its slot, or below the card's own switch), or of its
    IOMMU group, is on a host driver (often the HDMI audio on snd_hda_intel)."""
    # the devices on a host driver, by card and by group, once: linear in the devices
    by_card: dict[str, list[Device]] = {}
    by_group: dict[int, list[Device]] = {}
    for other in facts.devices.values():
        if keeps_viable(other.driver):
            continue  # the kernel's rule (workbench.core.viability)
        by_card.setdefault(other.card, []).append(other)
        if other.group is not None:
            by_group.setdefault(other.group, []).append(other)
    for gpu in _subject_devices(facts, subject):
        near = by_card.get(gpu.card, [])
        if gpu.group is not None:
            near = near + by_group.get(gpu.group, [])
        for other in near:
            if other.bdf != gpu.bdf:
                driver = other.driver or ""
                return CheckHit(list(other.evidence), {"device": other.bdf, "driver": driver})
    return None


def passthrough_group_member_on_host_driver(
    facts: Facts, subject: dict[str, str]
) -> CheckHit | None:
    """A device on vfio-pci or pci-stub (meant for a VM) shares its card or IOMMU group with a
    device on a host driver: the group is not viable. The first such pair, by address; the
    card's functions stand in for the group when the lines do not say it."""
    on_host: dict[str, list[Device]] = {}
    for other in facts.devices.values():
        if not keeps_viable(other.driver):
            on_host.setdefault(other.card, []).append(other)
            if other.group is not None:
                on_host.setdefault(f"group {other.group}", []).append(other)
    for dev in sorted(facts.devices.values(), key=lambda d: d.bdf):
        if not is_passthrough_driver(dev.driver) or dev.is_bridge:
            continue
        # its group's members when the groups are known, else its card's (the card's functions
        # share a group nearly always)
        near = on_host.get(f"group {dev.group}" if dev.group is not None else dev.card, [])
        for other in near:
            if other.bdf == dev.bdf:
                continue
            found = {"bdf": dev.bdf, "device": other.bdf, "driver": other.driver or ""}
            if dev.group is not None:
                found["group"] = str(dev.group)
            machine = dev.bound_now and other.bound_now
            return CheckHit([*dev.evidence, *other.evidence], found, not machine)
    return None


def _evidence(found: Range) -> Evidence:
    return Evidence(found.line_no, found.line, found.source)


def bootfb_in_gpu_bar(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """A boot framebuffer range in /proc/iomem lies in the BAR of the device the lines name,
    or of a device on vfio-pci (a host showing its console on its own GPU is fine). Ranges
    read without root (every address 0) were never kept: they show nothing."""
    bdf = subject.get("bdf")
    fbs = [r for r in facts.iomem if r.is_boot_framebuffer]
    if not fbs:
        return None
    owners = [
        r for r in facts.iomem if _looks_bdf(r.name) and _passed_through(facts, r.name.lower(), bdf)
    ]
    for fb, owner in devstate.framebuffer_overlaps(fbs, owners):
        found = [_evidence(owner), _evidence(fb)]
        return CheckHit(found, {"bdf": owner.name.lower(), "range": fb.name})
    return None


def _passed_through(facts: Facts, bdf: str, subject_bdf: str | None) -> bool:
    if subject_bdf:
        return bdf == subject_bdf
    if not facts.devices:
        return True  # a bare /proc/iomem excerpt: the user pasted it about this GPU
    dev = facts.devices.get(bdf)
    return dev is not None and is_passthrough_driver(dev.driver)


def iomem_without_bootfb(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """/proc/iomem was recorded, PCI ranges in it, and no boot framebuffer anywhere: a BAR that
    cannot be reserved is held by something else."""
    pci = [r for r in facts.iomem if _looks_bdf(r.name)]
    if not pci or any(r.is_boot_framebuffer for r in facts.iomem):
        return None
    bdf = subject.get("bdf")
    mine = [r for r in pci if r.name.lower() == bdf] if bdf else []
    shown = (mine or pci)[:2]
    return CheckHit([_evidence(r) for r in shown], {})


def device_config_all_ones(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """The device's config space reads back as all ones: it no longer answers."""
    for dev in _subject_devices(facts, subject):
        if dev.config_all_ones:
            return CheckHit([], {"bdf": dev.bdf})
    return None


def device_in_d3cold(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """The device sits in D3cold now (sysfs power_state)."""
    for dev in _subject_devices(facts, subject):
        if dev.power_state == "D3cold":
            return CheckHit([], {"bdf": dev.bdf})
    return None


def hugepages_none_reserved(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """The machine (or a pasted /proc/meminfo) has no hugepages reserved at all."""
    if facts.hugepages_total == 0:
        shown = [facts.hugepages_evidence] if facts.hugepages_evidence else []
        return CheckHit(shown, {})
    if facts.hugepages is not None and not any(nr for nr, _ in facts.hugepages.values()):
        return CheckHit([], {})
    return None


def hugepages_some_reserved(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """Hugepages are reserved (so the failure is their number, size or node, not none)."""
    if facts.hugepages_total:
        shown = [facts.hugepages_evidence] if facts.hugepages_evidence else []
        return CheckHit(shown, {})
    if facts.hugepages and any(nr for nr, _ in facts.hugepages.values()):
        return CheckHit([], {})
    return None


def unsafe_interrupts_off(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """vfio_iommu_type1's allow_unsafe_interrupts is off (so missing remapping refuses)."""
    return CheckHit([], {}) if facts.unsafe_interrupts is False else None


def interrupt_remapping_off(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """The kernel was told not to remap interrupts (`intremap=off`), or every Intel IOMMU unit
    lacks the capability (extended capability register, bit 3)."""
    if facts.cmdline and "intremap=off" in facts.cmdline.split():
        shown = [facts.cmdline_evidence] if facts.cmdline_evidence else []
        return CheckHit(shown, {})
    if facts.iommu_ecaps and not any(ecap & (1 << 3) for ecap in facts.iommu_ecaps):
        return CheckHit([], {})
    return None


def no_iommu_groups(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """The machine's IOMMU groups were recorded and there are none."""
    return CheckHit([], {}) if facts.iommu_groups == 0 else None


def cpu_guest_without_virt(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """The CPU says it runs under a hypervisor and offers no vmx/svm (no nested virt)."""
    flags = facts.cpu_flags
    if flags is not None and "hypervisor" in flags and not flags & VIRT_FLAGS:
        return CheckHit([], {})
    return None


def cpu_bare_metal_without_virt(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """The CPU runs on bare metal and shows neither vmx nor svm: since Linux 5.6 the kernel
    hides `vmx` when the firmware disabled VT-x, so KVM missing points at the firmware."""
    flags = facts.cpu_flags
    if flags is not None and "hypervisor" not in flags and not flags & VIRT_FLAGS:
        return CheckHit([], {})
    return None


def cpu_bare_metal_with_virt(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """The CPU runs on bare metal and shows vmx/svm (the firmware left it on): KVM missing
    points at its module not loaded, not at the firmware."""
    flags = facts.cpu_flags
    if flags is not None and "hypervisor" not in flags and flags & VIRT_FLAGS:
        return CheckHit([], {})
    return None


def _looks_bdf(name: str) -> bool:
    return len(name) == 12 and name[4] == ":" and name[7] == ":" and name[10] == "."
