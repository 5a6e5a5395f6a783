"""`iommu.enabled` (from the machine, never the command line alone) and `iommu.groups`."""

from __future__ import annotations

from typing import Any

from probes.cpu import read_cpuinfo
from probes.names import device_name
from probes.parsers import parse_cmdline
from workbench.core.errors import HostReadError
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Finding, Outcome, unreadable, worst

IOMMU_PARAMS = ("intel_iommu", "amd_iommu", "iommu")


VIRTUAL_REMEDY = (
    "This machine is a virtual machine: give it a virtual IOMMU (libvirt: <iommu model='intel'/> "
    "with <ioapic driver='qemu'/>; QEMU: -device intel-iommu,intremap=on) and add "
    "`intel_iommu=on` to its kernel command line, or run Workbench on the physical host."
)


def enable_remedy(vendor: str | None, has_acpi_table: bool, virtual: bool = False) -> str:
    """What to change so the kernel turns the IOMMU on, for this CPU vendor."""
    if virtual:
        return VIRTUAL_REMEDY
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
        if not inv.groups_recorded:  # a recorded root without the directory: nothing to judge
            where = "sys/kernel/iommu_groups"
            reason = "permission" if host.is_dir(where) else "missing"
            outcome = unreadable(where, reason, live=host.live, host=host)
            return Outcome("skip", outcome.summary, facts)
        if groups:
            findings = []
            if not units:
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
