"""Causes that a VM's configuration against the machine shows, as the explain model has them
(`CauseMatch`), so a VM's causes read the same whether a log or a fact showed them.

Title, severity and remedy come from the cause catalogue; a code the catalogue does not hold
yet is described here (FALLBACK), so the preflight never depends on which entries it has."""

from __future__ import annotations

from functools import cache

from workbench.explain.catalogue import Cause, catalogue
from workbench.explain.model import CauseMatch, Evidence, Severity

FALLBACK: dict[str, tuple[Severity, str, str]] = {
    "HOST_DRIVER_BOUND": (
        "fail",
        "A host driver owns the device instead of vfio-pci",
        "Bind it to vfio-pci before the VM starts, or set managed='yes' on the hostdev.",
    ),
    "GROUP_MEMBER_NOT_VFIO": (
        "fail",
        "Another device of the IOMMU group is on a host driver, so the group is not viable",
        "Bind every device of the group to vfio-pci too, or pass it to the VM as well.",
    ),
    "NO_IOMMU_GROUP": (
        "fail",
        "The device is in no IOMMU group, so vfio-pci cannot take it",
        "Turn the IOMMU on (firmware: VT-d/AMD-Vi; kernel: intel_iommu=on or amd_iommu=on).",
    ),
    "INCOMPLETE_DEVICE_FUNCTIONS": (
        "warn",
        "Not every function of the card is passed through",
        "Add a hostdev for each function of the card (the HDMI audio too).",
    ),
    "HUGEPAGES_NOT_RESERVED": (
        "fail",
        "The VM is backed by hugepages but none of its page size are reserved",
        "Reserve them (hugepagesz=SIZE hugepages=N on the kernel command line, or "
        "/sys/kernel/mm/hugepages/hugepages-SIZEkB/nr_hugepages), or drop <hugepages/>.",
    ),
    "HUGEPAGES_INSUFFICIENT": (
        "fail",
        "Too few free hugepages of the VM's page size (or on its NUMA node)",
        "Reserve more pages of that size (on that node), or give the VM less memory.",
    ),
    "HUGEPAGE_SIZE_MISCONFIGURED": (
        "fail",
        "The page size in <hugepages> is not one this machine has",
        "Use a size listed in /sys/kernel/mm/hugepages (2048 KiB, or 1 GiB where the CPU has "
        "pdpe1gb).",
    ),
    "VFIO_DEVICE_PERMISSION": (
        "fail",
        "QEMU's user cannot open /dev/vfio/N",
        "Run the VM from the system instance (qemu:///system), which hands the group to QEMU, "
        "or give QEMU's user access to /dev/vfio/N (a udev rule).",
    ),
    "ROMFILE_UNREADABLE": (
        "fail",
        "The vBIOS ROM file is not readable by QEMU's user",
        "Put the ROM where QEMU may read it (/usr/share/vgabios/), readable by all "
        "(chmod 644), and allowed by AppArmor/SELinux.",
    ),
    "IMAGE_PATH_PERMISSION": (
        "fail",
        "QEMU's user cannot read a file the VM needs (firmware, NVRAM) or reach its directory",
        "Make the file readable (and its directories searchable) by QEMU's user.",
    ),
}


@cache
def _known() -> dict[str, Cause]:
    return catalogue().causes


def fact_cause(code: str, subject: dict[str, str], evidence: list[Evidence]) -> CauseMatch:
    """The cause `code`, shown by facts (`evidence`: what was read, from where)."""
    known = _known().get(code)
    if known is not None:
        return CauseMatch(
            code=code,
            title=known.title,
            severity=known.severity,  # type: ignore[arg-type]  # checked by the loader
            benign=known.benign,
            confidence=1.0,
            subject=subject,
            evidence=evidence,
            remedy=known.remedy,
            references=list(known.references),
        )
    severity, title, remedy = FALLBACK[code]
    return CauseMatch(code, title, severity, False, 1.0, subject, evidence, remedy, [])
