"""`workbench probe --format vhv`: the lines and exit status of `virt-host-validate qemu`
(libvirt 9, tools/virt-host-validate-{qemu,common}.c), made from Workbench's probes, so scripts
that grep it can run Workbench instead.

A line is `  QEMU: Checking <check padded to 60>: PASS`, or `WARN (hint)` / `FAIL (hint)` with
its hints word for word. It prints a line only where it would (the /dev/kvm lines only with
hardware virtualization or on an architecture without a flag for it; "if IOMMU is enabled by
kernel" only after the platform check passed and /sys/kernel/iommu_groups exists). The
hardware lines follow the CPU's flags (vmx, svm, sie) as it does, never a probe's status.
Where a recording lacks what a check needs, the line says `NOTE (not recorded: ...)`: vhv's
own informational level, which changes no exit status. Exit 1 when a line says FAIL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from probes.cgroups import CHECKED, hint
from probes.netdevs import TUN_HINT, VHOST_NET_HINT
from probes.secure_guest import CpuFeatures, cpu_features
from workbench.core.host import Host
from workbench.core.report import ProbeResult, Report
from workbench.core.text import safe_text

Level = Literal["PASS", "WARN", "FAIL", "NOTE"]
PROBES = ("kvm.device", "host.vhost_net", "host.tun", "host.cgroups", "cpu.secure_guest")
ESCAPES = {"PASS": "\033[32m", "FAIL": "\033[31m", "WARN": "\033[33m", "NOTE": "\033[34m"}
NO_HW_VIRT = (
    "Host not compatible with KVM; HW virtualization CPU features not found. Only emulated "
    "CPUs are available; performance will be significantly limited"
)
KVM_HINT_X86 = (
    "Check that the 'kvm-intel' or 'kvm-amd' modules are loaded & the BIOS has enabled "
    "virtualization"
)
KVM_HINT = "Check that CPU and firmware supports virtualization and kvm module is loaded"
KVM_ACCESS_HINT = (
    "Check /dev/kvm is world writable or you are in a group that is allowed to access it"
)
NO_TABLE = (
    "No ACPI {} table found, IOMMU either disabled in BIOS or not supported by this hardware "
    "platform"
)


@dataclass(frozen=True)
class VhvLine:
    check: str  # after "Checking ": "for hardware virtualization"
    level: Level
    hint: str | None = None
    source: str = ""  # the Workbench probe (or machine file) it stands for

    def text(self, colour: bool = False) -> str:
        """The line as virt-host-validate prints it (with its escapes when `colour`)."""
        head = f"{'QEMU':>6}: Checking {self.check:<60}: "
        word = f"{ESCAPES[self.level]}{self.level}\033[0m" if colour else self.level
        return head + word + (f" ({self.hint})" if self.hint is not None else "") + "\n"


def _note(result: ProbeResult | None, what: str) -> str:
    if result is None:
        return f"not judged: {what} did not run"
    said = safe_text(result.summary[:300])
    return said if result.status == "skip" else f"not judged: {what} {result.status}: {said}"


def _checked(result: ProbeResult | None) -> bool:
    return result is not None and result.status in ("pass", "warn", "fail")


def _node(result: ProbeResult | None, check: str, level: Level, fix: str) -> VhvLine:
    """A device node's existence as a probe of probes.netdevs judged it."""
    source = result.id if result else ""
    exists = result.facts.get("exists") if result and _checked(result) else None
    if exists is None:
        return VhvLine(check, "NOTE", _note(result, check.split()[2]), source)
    return VhvLine(check, "PASS", None, source) if exists else VhvLine(check, level, fix, source)


def _kvm_lines(result: ProbeResult | None, x86: bool) -> list[VhvLine]:
    exists, access = "if device /dev/kvm exists", "if device /dev/kvm is accessible"
    device = result.facts.get("device", "?") if result and _checked(result) else "?"
    if device == "?":
        return [VhvLine(exists, "NOTE", _note(result, "kvm.device"), "kvm.device")]
    if not isinstance(device, dict):
        return [VhvLine(exists, "FAIL", KVM_HINT_X86 if x86 else KVM_HINT, "kvm.device")]
    lines = [VhvLine(exists, "PASS", None, "kvm.device")]
    ok = device.get("accessible")
    if ok is None:
        lines.append(VhvLine(access, "NOTE", "not recorded whether this user can open it"))
    else:
        lines.append(VhvLine(access, "PASS" if ok else "FAIL", None if ok else KVM_ACCESS_HINT))
    return [VhvLine(x.check, x.level, x.hint, "kvm.device") for x in lines]


def _cgroup_lines(result: ProbeResult | None, errors: list[str]) -> list[VhvLine]:
    checks = [f"for cgroup '{name}' controller support" for name in CHECKED]
    if not _checked(result) or result is None:
        return [VhvLine(c, "NOTE", _note(result, "host.cgroups"), "host.cgroups") for c in checks]
    if result.facts.get("error"):
        said = safe_text(str(result.facts["error"])[:300])
        if said == "no cgroup backend available":  # libvirt's VIR_ERR_INTERNAL_ERROR wording
            said = f"internal error: {said}"
        errors.append(f"Unable to initialize cgroups: {said}")
        return []  # vhv prints no controller line when libvirt cannot open the cgroups
    have = result.facts.get("controllers") or {}
    why = safe_text(str(result.facts.get("devices_bpf"))[:200])
    return [
        VhvLine(c, "PASS", None, "host.cgroups")
        if have.get(name)
        else VhvLine(c, "NOTE", f"not recorded: {why}", "host.cgroups")
        if have.get(name) is None
        else VhvLine(c, "WARN", hint(name), "host.cgroups")
        for c, name in zip(checks, CHECKED, strict=True)
    ]


def _unrecorded(host: Host, rel: str) -> str:
    said = host.record_hint(rel)
    return safe_text(f"{rel} {said}" if said else f"{rel} not recorded")


def _iommu_lines(host: Host, cpu: CpuFeatures | None) -> list[VhvLine]:
    check, src = "for device assignment IOMMU support", "iommu.enabled"
    if cpu is None:
        return [VhvLine(check, "NOTE", _unrecorded(host, "proc/cpuinfo"), src)]
    vendor = "vmx" if "vmx" in cpu.flags else "svm" if "svm" in cpu.flags else None
    bootarg: str | None = None
    if vendor is not None:
        table, bootarg = (
            ("DMAR", "intel_iommu=on") if vendor == "vmx" else ("IVRS", "iommu=pt iommu=1")
        )
        tables = "sys/firmware/acpi/tables"
        if not host.live and not host.is_dir(tables):
            return [VhvLine(check, "NOTE", _unrecorded(host, tables), src)]
        if not host.exists(f"{tables}/{table}"):
            return [VhvLine(check, "WARN", NO_TABLE.format(table), src)]
        lines = [VhvLine(check, "PASS", None, src)]
    elif cpu.arch == "ppc64":  # vhv: on PPC64 the IOMMU is always there
        lines = [VhvLine(check, "PASS", None, src)]
    elif cpu.arch == "s390":  # usual on s390x: no PCI, and vhv says it skipped (its NOTE)
        if not host.is_dir("sys/bus/pci/devices"):
            return [VhvLine(check, "NOTE", "Skipped - PCI support disabled", src)]
        if not host.listdir("sys/bus/pci/devices"):
            return [VhvLine(check, "NOTE", "Skipped - No PCI devices are online", src)]
        lines = [VhvLine(check, "PASS", None, src)]
    else:
        return [VhvLine(check, "WARN", "Unknown if this platform has IOMMU support", src)]
    groups, enabled = "sys/kernel/iommu_groups", "if IOMMU is enabled by kernel"
    if not host.is_dir(groups):
        if not host.live and host.record_hint(groups):
            lines.append(VhvLine(enabled, "NOTE", _unrecorded(host, groups), src))
        return lines
    if host.listdir(groups):
        return [*lines, VhvLine(enabled, "PASS", None, src)]
    why = (
        f"IOMMU appears to be disabled in kernel. Add {bootarg} to kernel cmdline arguments"
        if bootarg
        else "IOMMU capability not compiled into kernel."
    )
    return [*lines, VhvLine(enabled, "WARN", why, src)]


def _kvm_hv_line(host: Host) -> VhvLine:
    """vhv's PowerPC line: kvm_hv loaded (a /proc/modules line starting with it)."""
    check, src = "for PowerPC KVM module loaded", "kvm.device"
    modules, _ = host.try_read("proc/modules")
    if modules is not None:
        loaded = any(line.startswith("kvm_hv") for line in modules.splitlines()[:10_000])
    elif host.is_dir("sys/module"):
        loaded = host.is_dir("sys/module/kvm_hv")
    else:
        return VhvLine(check, "NOTE", _unrecorded(host, "proc/modules"), src)
    return (
        VhvLine(check, "PASS", None, src)
        if loaded
        else VhvLine(check, "WARN", "Load kvm_hv for better performance", src)
    )


def _secure_line(result: ProbeResult | None) -> VhvLine:
    check, src = "for secure guest support", "cpu.secure_guest"
    if not _checked(result) or result is None:
        return VhvLine(check, "NOTE", _note(result, src), src)
    said = result.facts.get("vhv_hint")
    return VhvLine(check, "WARN", str(said), src) if said else VhvLine(check, "PASS", None, src)


def vhv_lines(report: Report, host: Host) -> tuple[list[VhvLine], list[str]]:
    """The lines `virt-host-validate qemu` prints for this machine, in its order, and what it
    would say on standard error."""
    results = {r.id: r for r in report.probes}
    text, _ = host.try_read("proc/cpuinfo")
    cpu = cpu_features(text) if text is not None else None
    lines: list[VhvLine] = []
    hw = "for hardware virtualization"
    if cpu is None:
        lines.append(VhvLine(hw, "NOTE", _unrecorded(host, "proc/cpuinfo"), "cpu.virtualization"))
        has_flag, has_hw = True, True  # unknown: show what the /dev/kvm probe knows
    else:
        has_flag = cpu.arch in ("x86", "s390", "ppc64")
        wanted = {"x86": {"vmx", "svm"}, "s390": {"sie"}}.get(cpu.arch, set())
        has_hw = cpu.arch == "ppc64" or bool(wanted & cpu.flags)  # vhv: PPC64 always has it
        if has_flag:
            level: Level = "PASS" if has_hw else "FAIL"
            lines.append(VhvLine(hw, level, None if has_hw else NO_HW_VIRT, "cpu.virtualization"))
    if has_hw or not has_flag:
        lines += _kvm_lines(results.get("kvm.device"), cpu is None or cpu.arch == "x86")
    if cpu is not None and cpu.arch == "ppc64":
        lines.append(_kvm_hv_line(host))
    lines.append(
        _node(
            results.get("host.vhost_net"), "if device /dev/vhost-net exists", "WARN", VHOST_NET_HINT
        )
    )
    lines.append(_node(results.get("host.tun"), "if device /dev/net/tun exists", "FAIL", TUN_HINT))
    errors: list[str] = []
    lines += _cgroup_lines(results.get("host.cgroups"), errors)
    lines += _iommu_lines(host, cpu)
    lines.append(_secure_line(results.get("cpu.secure_guest")))
    return lines, errors


def render(report: Report, host: Host, *, colour: bool = False) -> tuple[str, list[str], int]:
    """(standard output, standard error lines, exit status: 1 when a line says FAIL)."""
    lines, errors = vhv_lines(report, host)
    status = 1 if any(line.level == "FAIL" for line in lines) else 0
    return "".join(line.text(colour) for line in lines), errors, status
