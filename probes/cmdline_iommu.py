"""What the kernel command line lacks when the IOMMU is off, for this CPU vendor.

Intel: the kernel enables VT-d only with `intel_iommu=on`, unless it was built with
CONFIG_INTEL_IOMMU_DEFAULT_ON=y. AMD: the kernel enables AMD-Vi by itself when the firmware
provides it (an IVRS table), so no parameter is missing there; `iommu=pt` is optional (host
devices skip translation) and the firmware's IOMMU setting is what to check."""

from __future__ import annotations

from typing import Any

from workbench.core.host import Host
from workbench.core.report import Finding, ProbeResult

INTEL_DEFAULT_ON = "CONFIG_INTEL_IOMMU_DEFAULT_ON"
# Notes (info), not warnings: the IOMMU is off, but nothing on this command line is missing
# (AMD), or what is, is the VM host's to give first (a VM): iommu.enabled fails with the fix.
NOT_NEEDED = "CMDLINE_IOMMU_NOT_NEEDED"
VIRTUAL = "CMDLINE_IOMMU_VIRTUAL"
NOTES = frozenset({NOT_NEEDED, VIRTUAL})


def intel_default_on(host: Host) -> bool | None:
    """Whether the running kernel turns VT-d on without a parameter, from its config file
    (/boot/config-RELEASE); None when that is not there to read."""
    release, _ = host.try_read("proc/sys/kernel/osrelease")
    if not release or "/" in release.strip():
        return None
    config, _ = host.try_read(f"boot/config-{release.strip()}")
    if config is None:
        return None
    return f"{INTEL_DEFAULT_ON}=y" in config.splitlines()


def missing_iommu_param(
    iommu: dict[str, str | None], enabled: ProbeResult | None, host: Host
) -> Finding | None:
    """A warning when iommu.enabled found the IOMMU off and the command line (`iommu`: its
    IOMMU parameters) does not ask for it (a note, NOTES, on AMD or in a VM); None when the
    IOMMU is on, when that was not judged, or when a parameter turns it off (CMDLINE_IOMMU_OFF says so)."""
    if enabled is None or enabled.status != "fail":
        return None
    if not any(f.code == "IOMMU_OFF" for f in enabled.findings):
        return None
    if "off" in iommu.values():
        return None
    facts: dict[str, Any] = enabled.facts
    vendor = facts.get("cpu_vendor")
    has_intel_on = iommu.get("intel_iommu") == "on"
    if facts.get("virtual_machine"):  # iommu.enabled fails with the remedy: a note here
        if vendor == "amd":
            need = (
                "for this AMD CPU with QEMU's amd-iommu no parameter is needed (`iommu=pt` is "
                "optional); with intel-iommu add intel_iommu=on"
            )
        else:
            lacks = "" if has_intel_on else ", which the command line lacks"
            need = f"with QEMU's intel-iommu its kernel also needs intel_iommu=on{lacks}"
        return Finding(
            VIRTUAL,
            "info",
            "The IOMMU is off and this machine is a VM, so no command-line parameter alone "
            f"turns it on: its host must give it a virtual IOMMU (see iommu.enabled); {need}.",
            "See iommu.enabled's remedy (a virtual IOMMU from the VM's host).",
        )
    if vendor == "intel":
        fw = "enable VT-d in the firmware setup (BIOS)"
        if has_intel_on:
            return Finding(
                "CMDLINE_IOMMU_NOT_EFFECTIVE",
                "warn",
                "intel_iommu=on is set, yet the IOMMU is off: the firmware does not offer VT-d.",
                f"{fw[0].upper()}{fw[1:]}, save and reboot.",
            )
        default = intel_default_on(host)
        if default:
            return Finding(
                "CMDLINE_IOMMU_NOT_EFFECTIVE",
                "warn",
                f"The IOMMU is off although this kernel enables VT-d by default "
                f"({INTEL_DEFAULT_ON}=y): the firmware does not offer VT-d.",
                f"{fw[0].upper()}{fw[1:]}, save and reboot.",
            )
        unless = "" if default is False else f" (unless it was built with {INTEL_DEFAULT_ON}=y)"
        return Finding(
            "CMDLINE_IOMMU_MISSING",
            "warn",
            "The IOMMU is off and the command line lacks intel_iommu=on, which the kernel needs "
            f"to turn VT-d on{unless}.",
            "Add `intel_iommu=on iommu=pt` to the kernel command line (GRUB_CMDLINE_LINUX in "
            f"/etc/default/grub, then update-grub) and reboot; if it stays off, {fw}.",
        )
    if vendor == "amd":  # nothing is missing here: a note pointing to iommu.enabled
        return Finding(
            NOT_NEEDED,
            "info",
            "The IOMMU is off and the command line has no IOMMU parameter; on AMD none is "
            "needed (the kernel turns AMD-Vi on by itself when the firmware provides it), so "
            "the firmware setting is what leaves it off (see iommu.enabled).",
            "Enable 'IOMMU' (AMD-Vi) in the firmware setup (BIOS), save and reboot; `iommu=pt` "
            "on the command line is optional (host devices skip translation).",
        )
    return Finding(
        "CMDLINE_IOMMU_MISSING",
        "warn",
        "The IOMMU is off and the command line has no IOMMU parameter.",
        "Enable the IOMMU in the firmware setup; on Intel also add `intel_iommu=on` to the "
        "kernel command line.",
    )
