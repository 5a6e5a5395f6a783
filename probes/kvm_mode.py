"""How KVM runs where the CPU offers no VT-x/AMD-V: paravirtualized (kvm_pvm), or not at all.

PVM ("Pagetable-based Virtual Machine") is a KVM module that runs guests without hardware
virtualization, inside a VM without nested virtualization. VMs start; device passthrough does
not, for VFIO needs hardware virtualization and an IOMMU. cpu.virtualization and kvm.device say
the same from here."""

from __future__ import annotations

from probes.modules import module_loaded
from workbench.core.host import Host

PARAVIRT_MODULES = ("kvm_pvm",)
NO_PASSTHROUGH = (
    "device passthrough (VFIO) still cannot work: it needs hardware virtualization (VT-x/AMD-V) "
    "and an IOMMU"
)


def paravirt_kvm(host: Host) -> str | None:
    """The paravirtualized KVM module loaded (KVM without VT-x/AMD-V), or None (none, or the
    machine's module list not recorded)."""
    for name in PARAVIRT_MODULES:
        if module_loaded(host, name):
            return name
    return None
