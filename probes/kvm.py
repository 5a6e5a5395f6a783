"""`kvm.device`: /dev/kvm is there, a character device this user can open; kvm modules; nesting."""

from __future__ import annotations

from typing import Any

from probes.cpu import cpu_vendor
from probes.kvm_mode import NO_PASSTHROUGH, paravirt_kvm
from probes.modules import loaded_modules
from probes.processes import process_facts
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Finding, Outcome, not_recorded, worst

HYPERVISOR_PROCESSES = ("qemu-system", "libvirtd", "virtqemud")


def _module_remedy(vendor: str | None) -> str:
    module = {"intel": "kvm_intel", "amd": "kvm_amd"}.get(vendor or "", "kvm_intel or kvm_amd")
    return (
        f"Load the KVM module (`modprobe {module}`); if it fails, enable virtualization in the "
        "firmware setup (see cpu.virtualization)."
    )


class KvmDevice(Probe):
    id = "kvm.device"
    title = "KVM device"
    area = "cpu"
    order = 20

    def run(self, ctx: ProbeContext) -> Outcome:
        host = ctx.host
        listed = loaded_modules(host)  # None: the machine's record has no module list
        modules = [m for m in listed or () if m == "kvm" or m.startswith("kvm_")]
        nested: dict[str, bool | None] = {}
        for mod in ("kvm_intel", "kvm_amd"):
            if mod in modules or host.is_dir(f"sys/module/{mod}/parameters"):
                text, _ = host.try_read(f"sys/module/{mod}/parameters/nested")
                nested[mod] = None if text is None else text.strip() in ("1", "Y", "y")
        node = host.device_node("/dev/kvm")
        facts: dict[str, Any] = {
            "device": None
            if node is None
            else {
                "kind": node.kind,
                "mode": node.mode,
                "owner": node.owner,
                "group": node.group,
                "accessible": node.accessible,
            },
            "modules": None if listed is None else modules,
            "nested": nested,
            "processes": process_facts(host, HYPERVISOR_PROCESSES),
            "paravirtualized": None,  # the KVM module that runs without vmx/svm (kvm_pvm)
        }
        vendor = cpu_vendor(host)
        if node is None:
            if not host.device_recorded("/dev/kvm"):
                return not_recorded("dev/kvm", facts, host=host)
            finding = Finding(
                "KVM_NO_DEVICE", "fail", "/dev/kvm does not exist.", _module_remedy(vendor)
            )
            return Outcome("fail", "/dev/kvm missing", facts, [finding])
        if node.kind != "char":
            finding = Finding(
                "KVM_NOT_CHAR_DEVICE",
                "fail",
                f"/dev/kvm is a {node.kind}, not a character device.",
                "Remove the bogus /dev/kvm and reload the module (`modprobe -r kvm_intel kvm_amd; "
                "modprobe kvm`), or reboot so udev recreates it.",
            )
            return Outcome("fail", f"/dev/kvm is a {node.kind}", facts, [finding])
        findings: list[Finding] = []
        if node.accessible is False:
            group = node.group or "kvm"
            findings.append(
                Finding(
                    "KVM_NO_ACCESS",
                    "fail",
                    f"/dev/kvm (mode {node.mode}, {node.owner}:{group}) is not readable and "
                    "writable by this user.",
                    f"Add the user to the '{group}' group (`sudo usermod -aG {group} $USER`, then "
                    "log in again), or use qemu:///system through libvirt.",
                )
            )
        if modules and not [m for m in modules if m != "kvm"]:
            findings.append(
                Finding(
                    "KVM_NO_VENDOR_MODULE",
                    "warn",
                    "Only the generic kvm module is loaded, no vendor module (kvm_intel, kvm_amd).",
                    _module_remedy(vendor),
                )
            )
        paravirt = facts["paravirtualized"] = paravirt_kvm(host)
        if paravirt is not None:
            findings.append(
                Finding(
                    "KVM_PARAVIRTUALIZED",
                    "info",
                    f"KVM runs paravirtualized ({paravirt}), without VT-x/AMD-V (see "
                    f"cpu.virtualization): VMs run; {NO_PASSTHROUGH}.",
                )
            )
        if any(f.severity == "fail" for f in findings):
            return Outcome("fail", "/dev/kvm not accessible", facts, findings)
        where = "accessible" if node.accessible else "present (access not recorded)"
        status = worst(findings)
        shown = "not recorded" if listed is None else ", ".join(modules) or "none listed"
        summary = f"/dev/kvm {where}; modules: {shown}"
        if paravirt is not None:
            summary += " (paravirtualized: no device passthrough)"
        return Outcome(status, summary, facts, findings)
