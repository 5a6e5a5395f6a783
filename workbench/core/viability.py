"""The kernel's rule for whether an IOMMU group is viable, and the one definition of a bridge
and of a passthrough driver that pci.gpus, libvirt.domains, vm.preflight and explain share.

Before 5.19 vfio judged each member itself (drivers/vfio/vfio.c `vfio_dev_viable`): no driver,
a vfio driver, pci-stub, or "a PCI interconnect device" (a bridge whatever its driver). Since
5.19 the IOMMU core's DMA ownership decides (`iommu_group_claim_dma_owner`): a group can be
claimed only while every member is driverless or bound to a driver that sets
`driver_managed_dma` (vfio-pci and its variants, pci-stub, pcieport); a bridge counts no
more than any device, so one on shpchp (or a host bridge on an EDAC driver) blocks. Which VM
is given a member does not matter to viability; two VMs sharing a group is another matter
(one container per group).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # core.pci imports this module's definitions
    from workbench.core.pci import PciDevice, PciInventory

# Drivers that leave the group's DMA to vfio (`driver_managed_dma`), besides vfio's own.
PASSTHROUGH_DRIVERS = frozenset({"vfio-pci", "pci-stub"})
ALLOWED_DRIVERS = PASSTHROUGH_DRIVERS | {"pcieport"}
# Bridges: host (0600), PCI-to-PCI (0604), CardBus (0607), semi-transparent (0609); an ISA
# bridge (0601, the LPC controller) is a device like any other.
BRIDGE_CLASSES = frozenset({"0600", "0604", "0607", "0609"})


def is_bridge_class(pci_class: str | None) -> bool:
    """Whether a class (4 or 6 hex digits) is a bridge's."""
    return pci_class is not None and pci_class[:4] in BRIDGE_CLASSES


def is_vfio_driver(driver: str | None) -> bool:
    """vfio-pci or a vfio variant driver (mlx5_vfio_pci, nvgrace_gpu_vfio_pci, ...)."""
    return driver is not None and "vfio" in driver


def is_passthrough_driver(driver: str | None) -> bool:
    """A driver that holds a device for a guest: vfio-pci (or a variant) or pci-stub."""
    return is_vfio_driver(driver) or driver in PASSTHROUGH_DRIVERS


def keeps_viable(driver: str | None) -> bool:
    """Whether a member on `driver` (None: no driver) leaves its group viable (since 5.19,
    whatever its class)."""
    return driver is None or is_vfio_driver(driver) or driver in ALLOWED_DRIVERS


def blocks_isolation(dev: PciDevice) -> bool:
    """Whether a group member other than the GPU's card keeps the GPU from being passed alone
    (pci.gpus' `blockers`): any device but a bridge the kernel lets stay (no driver,
    pcieport, a passthrough driver); a bridge whose driver is not recorded is not counted."""
    if not is_bridge_class(dev.class4):
        return True
    if dev.driver is None and not dev.driver_known:
        return False
    return not keeps_viable(dev.driver)


@dataclass(frozen=True)
class GroupViability:
    """One IOMMU group judged by the kernel's rule (its members judged elsewhere left out)."""

    group: int
    blockers: tuple[PciDevice, ...]  # members on a host driver: the group is not viable
    not_recorded: tuple[str, ...]  # members whose driver (or whole record) is not known

    @property
    def viable(self) -> bool | None:
        """False with a blocker; None when a member's driver is not recorded; else True."""
        if self.blockers:
            return False
        return None if self.not_recorded else True


def group_viability(
    inv: PciInventory, group: int, skip: frozenset[str] = frozenset()
) -> GroupViability:
    """The group's members against the rule, but those in `skip` (a VM's own hostdevs, whose
    binding is judged as hostdevs: managed='yes' ones are detached to vfio-pci at start)."""
    blockers: list[PciDevice] = []
    unknown: list[str] = []
    for bdf in inv.group_members(group):
        if bdf in skip:
            continue
        dev = inv.by_bdf.get(bdf)
        if dev is None or (dev.driver is None and not dev.driver_known):
            unknown.append(bdf)
        elif not keeps_viable(dev.driver):
            blockers.append(dev)
    return GroupViability(group, tuple(blockers), tuple(unknown))
