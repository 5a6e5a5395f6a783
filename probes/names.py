"""Human names for PCI devices in findings: pci.ids names with the class as a fallback."""

from __future__ import annotations

from workbench.core import pciids
from workbench.core.pci import PciDevice

CLASS_NAMES = {
    "0000": "Device",
    "0100": "SCSI controller",
    "0104": "RAID controller",
    "0106": "SATA controller",
    "0108": "NVMe controller",
    "0200": "Ethernet controller",
    "0280": "Network controller",
    "0300": "VGA compatible controller",
    "0302": "3D controller",
    "0380": "Display controller",
    "0403": "Audio device",
    "0500": "RAM memory",
    "0600": "Host bridge",
    "0601": "ISA bridge",
    "0604": "PCI bridge",
    "0609": "PCI bridge",
    "0780": "Communication controller",
    "0880": "System peripheral",
    "0c03": "USB controller",
    "0c05": "SMBus",
    "0c80": "Serial bus controller",
    "1080": "Encryption controller",
    "1180": "Signal processing controller",
    "1300": "Non-Essential Instrumentation",
}


def device_name(dev: PciDevice) -> str | None:
    """`Vendor Device` from pci.ids, None when the database or the ids are unknown."""
    db = pciids.shared()
    return None if db is None else db.name(dev.vendor, dev.device)


def describe(dev: PciDevice) -> str:
    """`0000:02:00.0 USB controller [1022:43ee] 500 Series Chipset USB 3.1 XHCI Controller`."""
    kind = CLASS_NAMES.get(dev.class4 or "", f"class {dev.class4 or '????'}")
    name = device_name(dev)
    return f"{dev.bdf} {kind} [{dev.ids}]" + (f" {name}" if name else "")
