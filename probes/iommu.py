"""`iommu.enabled` (from the machine, never the command line alone) and `iommu.groups`."""

from __future__ import annotations

from typing import Any

from probes.cpu import read_cpuinfo
from probes.names import device_name
from probes.parsers import parse_cmdline
from workbench.core.errors import HostReadError
from workbench.core.host import Host
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Finding, Outcome, unreadable, worst
from workbench.core.text import safe_text

IOMMU_PARAMS = ("intel_iommu", "amd_iommu", "iommu")


VIRTUAL_REMEDY = (
    "This machine is a virtual machine: give it a virtual IOMMU (libvirt: <iommu model='intel'/> "
    "with <ioapic driver='qemu'/>; QEMU: -device intel-iommu,intremap=on) and add "
    "`intel_iommu=on` to its kernel command line, or run Workbench on the physical host."
)
# libvirt's <iommu> models (formatdomain): intel (Q35), smmuv3 (5.5.0, ARM virt), virtio
# (8.3.0, Q35 and ARM virt), amd (11.5.0, QEMU's amd-iommu).
VIRTUAL_REMEDY_AMD = (
    "This machine is a virtual machine on an AMD CPU: give it a virtual IOMMU (libvirt 11.5 or "
    "later: <iommu model='amd'/>, QEMU: -device amd-iommu; the kernel turns AMD-Vi on by "
    "itself, no parameter needed; on older libvirt <iommu model='intel'/> with <ioapic "
    "driver='qemu'/> works on AMD too, then add `intel_iommu=on` to its kernel command line), "
    "or run Workbench on the physical host."
)
VIRTUAL_REMEDY_OTHER = (
    "This machine is a virtual machine: give it a virtual IOMMU (libvirt: <iommu "
    "model='virtio'/> since 8.3, or model='smmuv3' on ARM virt guests), or run Workbench on "
    "the physical host."
)


def virtual_remedy(vendor: str | None) -> str:
    """How a VM gets an IOMMU, for the CPU vendor its host gives it."""
    if vendor == "amd":
        return VIRTUAL_REMEDY_AMD
    return VIRTUAL_REMEDY if vendor == "intel" else VIRTUAL_REMEDY_OTHER


def enable_remedy(vendor: str | None, has_acpi_table: bool, virtual: bool = False) -> str:
    """What to change so the kernel turns the IOMMU on, for this CPU vendor."""
    if virtual:
        return virtual_remedy(vendor)
    if vendor == "intel":
        fw = "" if has_acpi_table else "Enable VT-d in the firmware setup, then "
        return (
            f"{fw}add `intel_iommu=on iommu=pt` to the kernel command line (GRUB_CMDLINE_LINUX in "
            "/etc/default/grub, then update-grub) and reboot."
        )
    if vendor == "amd":
        return (
            "Enable 'IOMMU' (AMD-Vi) in the firmware setup; the kernel turns it on by itself when "
            "the firmware provides an IVRS table. Remove any `amd_iommu=off` or `iommu=off` from "
            "the kernel command line and add `iommu=pt`, then reboot."
        )
    return (
        "Enable the IOMMU (VT-d / AMD-Vi) in the firmware setup and add `intel_iommu=on` (Intel) "
        "or `iommu=pt` (AMD) to the kernel command line."
    )


def kernel_evidence(host: Host) -> tuple[list[str], list[str], str | None]:
    """(lines proving the IOMMU on, lines saying it off, which log was read) from a recorded
    machine's manifest `evidence` (a sosreport's root keeps the kernel's lines there)."""
    evidence = host.manifest.get("evidence") if not host.live else None
    if not isinstance(evidence, dict):
        return [], [], None

    def lines(key: str) -> list[str]:
        value = evidence.get(key)
        if not isinstance(value, list):
            return []
        return [safe_text(v[:300]) for v in value[:12] if isinstance(v, str)]

    checked = lines("iommu_log")
    where = checked[0] if checked else None
    partial = lines("iommu_partial")
    if where and partial:  # said, but not taken as proof (see workbench.sos.groups)
        where += f" has only `{partial[0]}`" + (
            f" and {len(partial) - 1} more" if partial[1:] else ""
        )
        where += ", which does not prove DMA translation on"
    return lines("iommu"), lines("iommu_off"), where


def _groups_source(host: Host) -> str:
    sources = host.manifest.get("sources")
    said = sources.get("iommu_groups") if isinstance(sources, dict) else None
    return safe_text(said[:300]) if isinstance(said, str) else "recorded"


def from_evidence(
    host: Host, not_recorded: str, facts: dict[str, Any], vendor: str | None, virtual: bool
) -> Outcome:
    """`iommu.enabled` of a recording without groups: judged from the kernel's own lines (and
    /dev/vfio), never from their absence; without them, a skip that says what would show it."""
    on, off, checked = kernel_evidence(host)
    facts["evidence"] = on or off
    if on:
        return Outcome("pass", f"on (kernel log: {on[0]}); {not_recorded}", facts)
    if off:
        finding = Finding(
            "IOMMU_OFF",
            "fail",
            f"The IOMMU is off: the kernel log says `{off[0]}`.",
            enable_remedy(vendor, False, virtual),
        )
        return Outcome("fail", f"IOMMU is off (kernel log: {off[0]})", facts, [finding])
    if checked and " has only " in checked:
        not_recorded += f"; the kernel log {checked}"
    elif checked:
        not_recorded += f"; the kernel log ({checked}) shows no IOMMU line"
    return Outcome("skip", not_recorded, facts)


class IommuEnabled(Probe):
    id = "iommu.enabled"
    title = "IOMMU enabled"
    area = "iommu"
    order = 30

    def run(self, ctx: ProbeContext) -> Outcome:
        host = ctx.host
        units = host.listdir("sys/class/iommu")
        inv = host.pci()
        groups = inv.groups
        tables = host.listdir("sys/firmware/acpi/tables")
        acpi = [t for t in ("DMAR", "IVRS") if t in tables]
        cmdline_text, _ = host.try_read("proc/cmdline")
        params = {k: v for k, v in parse_cmdline(cmdline_text or "") if k in IOMMU_PARAMS}
        try:
            cpu = read_cpuinfo(host)
            vendor, virtual = cpu.vendor, "hypervisor" in cpu.flags
        except HostReadError:
            vendor, virtual = None, False
        facts: dict[str, Any] = {
            "units": units,
            "groups": len(groups),
            "acpi_tables": acpi,
            "cmdline": params,
            "cpu_vendor": vendor,
            "virtual_machine": virtual,
        }
        off = [f"{k}={v}" for k, v in params.items() if v == "off"]
        if not inv.groups_recorded:  # a recorded root without the directory: the evidence
            where = "sys/kernel/iommu_groups"
            reason = "permission" if host.is_dir(where) else "missing"
            outcome = unreadable(where, reason, live=host.live, host=host)
            return from_evidence(host, outcome.summary, facts, vendor, virtual)
        units_hint = host.record_hint("sys/class/iommu")
        if groups:
            findings = []
            if not units and not units_hint:
                findings.append(
                    Finding(
                        "IOMMU_NO_UNITS_LISTED",
                        "info",
                        "IOMMU groups exist but /sys/class/iommu lists no unit (not recorded?).",
                    )
                )
            via = f" ({', '.join(units)})" if units else ""
            return Outcome("pass", f"on{via}: {len(groups)} IOMMU groups", facts, findings)
        if units:
            finding = Finding(
                "IOMMU_NO_GROUPS",
                "warn",
                f"IOMMU units are present ({', '.join(units)}) but no device is in an IOMMU group.",
                "Check `dmesg | grep -i -e DMAR -e IOMMU`; the kernel may be in passthrough-only "
                "or lazy mode. " + enable_remedy(vendor, bool(acpi), virtual),
            )
            return Outcome("warn", "IOMMU units present but no groups", facts, [finding])
        why = "no IOMMU unit in /sys/class/iommu and no IOMMU groups"
        if units_hint:  # a sosreport: the units are not in it; the groups' absence is proven
            why = f"no IOMMU groups ({_groups_source(host)})"
        if off:
            why += f"; the kernel command line turns it off ({', '.join(off)})"
        elif acpi:
            why += f"; the firmware describes one (ACPI {'/'.join(acpi)}) but the kernel did not enable it"
        finding = Finding(
            "IOMMU_OFF",
            "fail",
            f"The IOMMU is off: {why}.",
            enable_remedy(vendor, bool(acpi), virtual),
        )
        return Outcome("fail", "IOMMU is off", facts, [finding])


class IommuGroups(Probe):
    id = "iommu.groups"
    title = "IOMMU groups"
    area = "iommu"
    order = 50
    requires = ("iommu.enabled",)

    def run(self, ctx: ProbeContext) -> Outcome:
        inv = ctx.host.pci()
        listed: list[dict[str, Any]] = []
        findings: list[Finding] = []
        empty = []
        for number in sorted(inv.groups):
            members = []
            for bdf in inv.groups[number]:
                dev = inv.by_bdf.get(bdf)
                members.append(
                    {
                        "bdf": bdf,
                        "class": dev.class4 if dev else None,
                        "vendor": dev.vendor if dev else None,
                        "device": dev.device if dev else None,
                        "driver": dev.driver if dev else None,
                        "name": device_name(dev) if dev else None,
                    }
                )
            if not members:
                empty.append(number)
            listed.append({"group": number, "devices": members})
        if empty:
            findings.append(
                Finding(
                    "IOMMU_EMPTY_GROUPS",
                    "info",
                    f"IOMMU group(s) {', '.join(map(str, empty))} list no devices.",
                )
            )
        seen: dict[str, list[int]] = {}
        for number in sorted(inv.groups):
            for bdf in set(inv.groups[number]):
                seen.setdefault(bdf, []).append(number)
        twice = {bdf: numbers for bdf, numbers in seen.items() if len(numbers) > 1}
        if twice:
            shown = "; ".join(
                f"{bdf} in groups {', '.join(map(str, numbers))}"
                for bdf, numbers in sorted(twice.items())
            )
            findings.append(
                Finding(
                    "IOMMU_DEVICE_IN_SEVERAL_GROUPS",
                    "fail",
                    f"Impossible topology: a device belongs to exactly one IOMMU group, but {shown}. "
                    "The recording is inconsistent, so no isolation verdict can be trusted.",
                    "Capture the machine again with `workbench capture`; on a live machine, "
                    "check `ls -l /sys/kernel/iommu_groups/*/devices`.",
                )
            )
        ungrouped = [d.bdf for d in inv.devices if d.iommu_group is None]
        if ungrouped and inv.groups:
            findings.append(
                Finding(
                    "IOMMU_UNGROUPED_DEVICES",
                    "info",
                    f"{len(ungrouped)} device(s) are in no IOMMU group: {', '.join(ungrouped[:8])}"
                    + (" …" if len(ungrouped) > 8 else ""),
                )
            )
        count = sum(len(g["devices"]) for g in listed)
        facts = {"groups": listed, "ungrouped": ungrouped}
        return Outcome(worst(findings), f"{len(listed)} groups, {count} devices", facts, findings)
