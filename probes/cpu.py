"""`cpu.virtualization`: does the CPU offer hardware virtualization (VT-x / AMD-V), and if not,
does KVM run anyway (paravirtualized)?"""

from __future__ import annotations

from probes.kvm_mode import NO_PASSTHROUGH, paravirt_kvm
from probes.parsers import CpuInfo, parse_cpuinfo
from workbench.core.errors import HostReadError
from workbench.core.host import Host
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Finding, Outcome

FIRMWARE_SETTING = {
    "intel": "Enable 'Intel Virtualization Technology' (VT-x) in the firmware setup "
    "(usually Advanced > CPU Configuration), save and reboot.",
    "amd": "Enable 'SVM Mode' (AMD-V) in the firmware setup (usually Advanced > CPU "
    "Configuration or OC > Advanced CPU Settings), save and reboot.",
}
NESTED_REMEDY = (
    "This machine is itself a virtual machine (the CPU reports 'hypervisor'): expose "
    "virtualization to it on the outer host (nested=1 for kvm_intel/kvm_amd and a "
    "host-passthrough CPU model), or run Workbench on the physical host."
)


def read_cpuinfo(host: Host) -> CpuInfo:
    """Parse the machine's cpuinfo; HostReadError when it is missing or unreadable."""
    return parse_cpuinfo(host.read_required("proc/cpuinfo"))


def cpu_vendor(host: Host) -> str | None:
    """ "intel", "amd", another vendor id, or None when cpuinfo cannot be read."""
    try:
        return read_cpuinfo(host).vendor
    except HostReadError:
        return None


class CpuVirtualization(Probe):
    id = "cpu.virtualization"
    title = "CPU virtualization"
    area = "cpu"
    order = 10

    def run(self, ctx: ProbeContext) -> Outcome:
        info = read_cpuinfo(ctx.host)
        if not info.has_flags:  # an empty or cut cpuinfo says nothing about vmx/svm
            return Outcome("skip", "proc/cpuinfo records no CPU flags: nothing to judge")
        ext = "vmx" if "vmx" in info.flags else "svm" if "svm" in info.flags else None
        virtualized = "hypervisor" in info.flags
        facts = {
            "vendor": info.vendor,
            "vendor_id": info.vendor_id,
            "model": info.model,
            "processors": info.processors,
            "extension": ext,
            "running_under_hypervisor": virtualized,
            "paravirtualized": None,  # the KVM module that runs without vmx/svm (kvm_pvm)
        }
        if ext is not None:
            name = "VT-x" if ext == "vmx" else "AMD-V"
            # A VM that shows vmx/svm has nested virtualization: say so, it is not a host.
            nested = " (nested: this machine is itself a VM)" if virtualized else ""
            summary = f"{name} ({ext}) available on {info.processors} CPUs{nested}"
            return Outcome("pass", summary, facts)
        if virtualized:
            remedy = NESTED_REMEDY
        else:
            remedy = FIRMWARE_SETTING.get(
                info.vendor or "",
                "Enable hardware virtualization in the firmware setup, save and reboot.",
            )
        where = " (this machine is a VM without nested virtualization)" if virtualized else ""
        paravirt = facts["paravirtualized"] = paravirt_kvm(ctx.host)
        if paravirt is not None:  # KVM works, without the hardware: kvm.device says the same
            finding = Finding(
                "CPU_KVM_PARAVIRTUALIZED",
                "warn",
                f"The CPU flags have neither vmx nor svm{where}, but KVM works here "
                f"paravirtualized ({paravirt} is loaded): VMs run without hardware "
                f"virtualization; {NO_PASSTHROUGH}.",
                "Nothing is needed for VMs alone; for passthrough, "
                + remedy[0].lower()
                + remedy[1:],
            )
            summary = f"no vmx/svm flag{where}; KVM runs paravirtualized ({paravirt})"
            return Outcome("warn", summary, facts, [finding])
        finding = Finding(
            "CPU_NO_VIRT_EXT",
            "fail",
            f"The CPU flags have neither vmx nor svm{where}: KVM cannot use hardware "
            "virtualization.",
            remedy,
        )
        return Outcome("fail", f"no vmx/svm flag{where}", facts, [finding])
