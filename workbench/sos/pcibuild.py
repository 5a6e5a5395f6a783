"""The PCI part of a sosreport's machine root: `sys/bus/pci/devices/*` from lspci, and
`sys/kernel/iommu_groups` when the report shows the groups (lspci's `IOMMU group:` lines).

Written as a live sysfs lays it out (what `workbench.machines.build_root` writes), so
`core.pciscan` reads it unchanged. A fact the report does not hold is left out, never invented.
"""

from __future__ import annotations

from workbench.sos.lspci import LspciDevice, parse_lspci
from workbench.sos.model import ASK_FOR, SosNotes

LSPCI_FILES = ("sos_commands/pci/lspci_-nnvv", "lspci", "sos_commands/pci/lspci_-nvv")
GROUPS = "sys/kernel/iommu_groups"
DEVICES = "sys/bus/pci/devices"


def build_pci(notes: SosNotes) -> None:
    text = None
    for rel in LSPCI_FILES:
        text, problem = notes.report.try_read(rel)
        if problem:
            notes.problems.append(problem)
        if text is not None:
            notes.sources["pci"] = rel
            break
    if text is None:
        notes.missing(DEVICES, "lspci -nnvv", f"collected by the pci plugin: {ASK_FOR}")
        notes.missing(GROUPS, "lspci -nnvv", f"collected by the pci plugin: {ASK_FOR}")
        return
    listing = parse_lspci(text)
    if listing.skipped:
        notes.problems.append(f"{notes.sources['pci']}: {listing.skipped} lines not understood")
    for dev in listing.devices:
        _device(notes, dev)
    if listing.group_lines:
        notes.sources["iommu_groups"] = notes.sources["pci"]
        notes.out.joinpath(GROUPS).mkdir(parents=True, exist_ok=True)
    else:
        notes.missing(
            GROUPS,
            "the IOMMU groups",
            "lspci shows them from pciutils 3.7; or `sos report -o virsh` with libvirt running",
        )


def _device(notes: SosNotes, dev: LspciDevice) -> None:
    base = f"sys/devices/pci{dev.bdf[:4]}:00/{dev.bdf}"
    if dev.vendor:
        notes.write(f"{base}/vendor", f"0x{dev.vendor}\n")
    if dev.device:
        notes.write(f"{base}/device", f"0x{dev.device}\n")
    if dev.pci_class:
        notes.write(f"{base}/class", f"0x{dev.pci_class}\n")
    if dev.rev:
        notes.write(f"{base}/revision", f"0x{dev.rev}\n")
    notes.link(f"{DEVICES}/{dev.bdf}", base)
    if dev.driver:
        drv = f"sys/bus/pci/drivers/{dev.driver}"
        notes.link(f"{base}/driver", drv)
        notes.link(f"{drv}/{dev.bdf}", base)
    if dev.iommu_group is not None:
        grp = f"{GROUPS}/{dev.iommu_group}"
        if not notes.out.joinpath(grp, "type").exists():
            notes.write(f"{grp}/type", "DMA\n")
        notes.link(f"{base}/iommu_group", grp)
        notes.link(f"{grp}/devices/{dev.bdf}", base)
