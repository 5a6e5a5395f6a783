"""The kernel's rule for whether an IOMMU group is viable: which members may stay on what.

The rule, as the kernel states it (drivers/vfio/vfio.c, `vfio_dev_viable` and
`vfio_dev_driver_allowed`, before 5.19; since then the same policy through the IOMMU core's
DMA ownership, where vfio-pci, pci-stub and pcieport set `driver_managed_dma`): "A vfio group
is viable for use by userspace if all devices are in one of the following states: driver-less,
bound to a vfio driver, bound to an otherwise allowed driver [pci-stub], a PCI interconnect
device" (a bridge: a header type other than normal). Which VM is given a member does not
matter to viability; two VMs sharing a group is another matter (one container per group).
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.core.pci import PciDevice, PciInventory

# Drivers that never claim the group's DMA: the stub, and the PCIe port driver of bridges.
ALLOWED_DRIVERS = frozenset({"pci-stub", "pcieport"})
# PCI-to-PCI (0604), CardBus (0607) and semi-transparent (0609) bridges: header type 1 or 2.
# A host bridge (0600) has a normal header, so the kernel judges its driver like any device's.
INTERCONNECT_CLASSES = frozenset({"0604", "0607", "0609"})


def is_vfio_driver(driver: str | None) -> bool:
    """vfio-pci or a vfio variant driver (mlx5_vfio_pci, nvgrace_gpu_vfio_pci, ...)."""
    return driver is not None and "vfio" in driver


def keeps_viable(driver: str | None, class4: str | None) -> bool:
    """Whether a member on `driver` (None: no driver) of class `class4` leaves its group viable."""
    return (
        driver is None
        or is_vfio_driver(driver)
        or driver in ALLOWED_DRIVERS
        or class4 in INTERCONNECT_CLASSES
    )


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
        if dev is not None and dev.class4 in INTERCONNECT_CLASSES:
            continue  # a bridge whatever its driver
        if dev is None or (dev.driver is None and not dev.driver_known):
            unknown.append(bdf)
        elif not keeps_viable(dev.driver, dev.class4):
            blockers.append(dev)
    return GroupViability(group, tuple(blockers), tuple(unknown))
