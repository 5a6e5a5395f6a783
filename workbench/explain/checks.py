"""Fact checks the catalogue names: each reads the Facts (and the subject the lines gave) and
returns what supports its cause, or None. A check never raises on odd facts."""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.explain.facts import Facts
from workbench.explain.model import Evidence

HOST_GPU_DRIVERS = frozenset({"nvidia", "nouveau", "amdgpu", "radeon", "i915", "xe", "nvidiafb"})
PASSTHROUGH_DRIVERS = frozenset({"vfio-pci", "pci-stub"})
BOOT_FRAMEBUFFERS = ("bootfb", "efifb", "vesafb", "simplefb", "simpledrm", "simple-framebuffer")


@dataclass
class CheckHit:
    evidence: list[Evidence] = field(default_factory=list)
    subject: dict[str, str] = field(default_factory=dict)


def _subject_devices(facts: Facts, subject: dict[str, str]) -> list[str]:
    """The devices the lines are about: the subject's, else the GPUs of the subject's IOMMU
    group (`group N is not viable`), else the GPUs the facts know."""
    bdf = subject.get("bdf")
    if bdf and bdf in facts.devices:
        return [bdf]
    gpus = [b for b, d in facts.devices.items() if d.is_gpu]
    group = subject.get("group")
    if group and group.isdigit() and len(group) <= 10:  # int() refuses 4,300+ digits
        in_group = [b for b in gpus if facts.devices[b].group == int(group)]
        return in_group or gpus
    return gpus


def gpu_on_host_driver(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """The GPU the lines are about is bound to a host graphics driver."""
    for bdf in _subject_devices(facts, subject):
        dev = facts.devices[bdf]
        if dev.driver in HOST_GPU_DRIVERS:
            return CheckHit(list(dev.evidence), {"bdf": bdf, "driver": dev.driver or ""})
    return None


def group_member_on_host_driver(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """Another function of the GPU's card (its slot), or of its IOMMU group, is on a host
    driver (often the HDMI audio on snd_hda_intel)."""
    for bdf in _subject_devices(facts, subject):
        gpu = facts.devices[bdf]
        for other in facts.devices.values():
            if other.bdf == bdf or other.driver is None or other.driver in PASSTHROUGH_DRIVERS:
                continue
            if other.pci_class is not None and other.pci_class.startswith("06"):
                continue  # bridges do not count against viability
            same_group = gpu.group is not None and other.group == gpu.group
            if other.slot == gpu.slot or same_group:
                return CheckHit(list(other.evidence), {"device": other.bdf, "driver": other.driver})
    return None


def bootfb_in_gpu_bar(facts: Facts, subject: dict[str, str]) -> CheckHit | None:
    """A boot framebuffer range in /proc/iomem lies inside a range a PCI device owns."""
    for fb in facts.iomem:
        if not fb.name.lower().startswith(BOOT_FRAMEBUFFERS):
            continue
        for owner in facts.iomem:
            if owner is fb or not _looks_bdf(owner.name):
                continue
            if owner.start <= fb.start and fb.end <= owner.end:
                found = [e for e in (owner.evidence, fb.evidence) if e is not None]
                return CheckHit(found, {"bdf": owner.name.lower(), "range": fb.name})
    return None


def _looks_bdf(name: str) -> bool:
    return len(name) == 12 and name[4] == ":" and name[7] == ":" and name[10] == "."
