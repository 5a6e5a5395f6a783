"""`cpu.secure_guest`: can this host start confidential guests: AMD SEV (and SEV-ES, SEV-SNP),
IBM Secure Execution (s390 PV), Intel TDX. SEV and s390 are judged as `virt-host-validate qemu`
judges them (tools/virt-host-validate-common.c); TDX, which it does not know, by KVM's own
parameter. Every verdict below vhv's PASS is a warning, as there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from probes.parsers import parse_cmdline
from workbench.core.host import Host
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Finding, Outcome, not_recorded

# The prefixes of a cpuinfo line that lists CPU features on some architecture (as vhv reads).
FLAG_LINES = ("flags", "Features", "features", "facilities")
SEV_PARAMS = "sys/module/kvm_amd/parameters"
TDX_PARAM = "sys/module/kvm_intel/parameters/tdx"
UNKNOWN = "Unknown if this platform has Secure Guest support"
ON = ("1", "Y", "y")


@dataclass(frozen=True)
class CpuFeatures:
    """The words of every feature line of cpuinfo (their union, as vhv takes them), the
    architecture they show: "x86", "s390" or "other"."""

    flags: frozenset[str]
    arch: str


def cpu_features(text: str) -> CpuFeatures:
    """What vhv reads of /proc/cpuinfo (lines of 1 KiB at most, as its fgets buffer)."""
    flags: set[str] = set()
    arch = "other"
    for line in text.splitlines()[:100_000]:
        line = line[:1023]
        if line.startswith("vendor_id"):
            vendor = line.partition(":")[2].strip()
            arch = "s390" if vendor.startswith("IBM/S390") else "x86"
        elif line.startswith("cpu") and line.partition(":")[2].strip().startswith("POWER"):
            arch = "ppc64"  # `cpu : POWER9 (architected)`: no vendor_id line there
        if line.startswith(FLAG_LINES) and ":" in line:
            flags.update(line.partition(":")[2].split(" "))
    flags.discard("")
    return CpuFeatures(frozenset(flags), arch)


def _param(host: Host, name: str) -> str | None:
    text, _ = host.try_read(f"{SEV_PARAMS}/{name}")
    return None if text is None else text.strip()[:20]


def sev_outcome(host: Host, facts: dict[str, Any]) -> Outcome:
    """The SEV verdict: kvm_amd's sev parameter, then /dev/sev (vhv's order)."""
    value = _param(host, "sev")
    facts["sev"] = {"param": value, **{k: _param(host, k) for k in ("sev_es", "sev_snp")}}
    if value is None:
        if not host.live and not host.is_dir(SEV_PARAMS):
            return not_recorded(f"{SEV_PARAMS}/sev", facts, host=host)
        why = "AMD Secure Encrypted Virtualization not supported by the currently used kernel"
        return _warn("SEV_NO_KERNEL", why, "Load kvm_amd from a kernel built with SEV.", facts)
    if not value.startswith(ON):
        why = (
            "AMD Secure Encrypted Virtualization appears to be disabled in kernel. Add "
            "kvm_amd.sev=1 to the kernel cmdline arguments"
        )
        return _warn("SEV_DISABLED_KERNEL", why, "Add kvm_amd.sev=1 and reboot.", facts)
    node = host.device_node("/dev/sev")
    if node is None:
        if not host.device_recorded("/dev/sev"):
            return not_recorded("dev/sev", facts, host=host)
        why = "AMD Secure Encrypted Virtualization appears to be disabled in firmware."
        fix = "Enable SEV (and SEV-ES/SNP, with enough ASIDs) in the firmware setup."
        return _warn("SEV_DISABLED_FIRMWARE", why, fix, facts)
    kinds = ["SEV"] + [
        label
        for key, label in (("sev_es", "SEV-ES"), ("sev_snp", "SEV-SNP"))
        if (facts["sev"][key] or "").startswith(ON)
    ]
    return Outcome("pass", f"AMD {', '.join(kinds)} available", facts)


def s390_outcome(host: Host, cpu: CpuFeatures, facts: dict[str, Any]) -> Outcome:
    """IBM Secure Execution: facility 158, /sys/firmware/uv, prot_virt on the command line."""
    if "158" not in cpu.flags:
        why = "Hardware or firmware does not provide support for IBM Secure Execution"
        return _warn("S390_PV_NO_HARDWARE", why, "Use a z15 or later with the feature.", facts)
    if not host.is_dir("sys/firmware/uv"):
        why = "IBM Secure Execution not supported by the currently used kernel"
        return _warn(
            "S390_PV_NO_KERNEL", why, "Boot a kernel with CONFIG_KVM_S390_UCONTROL.", facts
        )
    cmdline, _ = host.try_read("proc/cmdline")
    if cmdline is None:
        return not_recorded("proc/cmdline", facts, host=host)
    if prefix_param(cmdline, "prot_virt", ("y", "Y", "on", "ON", "oN", "On", "1")):
        return Outcome("pass", "IBM Secure Execution available", facts)
    why = (
        "IBM Secure Execution appears to be disabled in kernel. Add prot_virt=1 to kernel "
        "cmdline arguments"
    )
    return _warn("S390_PV_DISABLED", why, "Add prot_virt=1 and reboot.", facts)


def prefix_param(cmdline: str, name: str, values: tuple[str, ...]) -> bool:
    """libvirt's virKernelCmdlineMatchParam(SEARCH_FIRST | CMP_PREFIX): the first `name=`
    ('-' and '_' alike) has a value starting with one of `values` (`yFOO` counts, as the kernel
    reads it)."""
    for key, value in parse_cmdline(cmdline):
        if key.replace("-", "_") == name:
            return value is not None and value.startswith(values)
    return False


def _warn(code: str, why: str, fix: str, facts: dict[str, Any]) -> Outcome:
    facts["vhv_hint"] = why
    message = why if why.endswith(".") else why + "."
    return Outcome("warn", why, facts, [Finding(code, "warn", message, fix)])


class SecureGuest(Probe):
    id = "cpu.secure_guest"
    title = "Secure guests (SEV, TDX, s390 PV)"
    area = "cpu"
    order = 95

    def run(self, ctx: ProbeContext) -> Outcome:
        host = ctx.host
        text, _ = host.try_read("proc/cpuinfo")
        if text is None:
            return not_recorded("proc/cpuinfo", host=host)
        cpu = cpu_features(text)
        facts: dict[str, Any] = {"arch": cpu.arch, "vhv_hint": None}
        if cpu.arch == "s390":
            return s390_outcome(host, cpu, facts)
        if "sev" in cpu.flags:
            return sev_outcome(host, facts)
        tdx, _ = host.try_read(TDX_PARAM)
        facts["tdx"] = None if tdx is None else tdx.strip()[:20]
        if tdx is not None and tdx.strip().startswith(ON):
            facts["vhv_hint"] = UNKNOWN  # virt-host-validate 9 knows no TDX
            return Outcome("pass", "Intel TDX available (kvm_intel.tdx=Y)", facts)
        # vhv's line warns (`vhv_hint`); for the probe it is optional, like hugepages: a pass
        # with a note, so that no machine without SEV or TDX warns.
        facts["vhv_hint"] = UNKNOWN
        finding = Finding(
            "SECURE_GUEST_NONE",
            "info",
            f"{UNKNOWN}: the CPU shows no SEV flag and KVM has no TDX enabled.",
            "Only needed for confidential guests: on AMD EPYC enable SEV in the firmware and "
            "kvm_amd.sev=1; on Intel Xeon with TDX, kvm_intel.tdx=1 on a TDX-enabled kernel.",
        )
        summary = "no secure guest support (only needed for confidential guests)"
        return Outcome("pass", summary, facts, [finding])
