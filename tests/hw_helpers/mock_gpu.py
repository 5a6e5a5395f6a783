"""A umockdev testbed with one PCI GPU on nouveau, and the move of that GPU to vfio-pci.
(Imported by the scenarios, which run under umockdev-wrapper with Debian's python3.)"""

from pathlib import Path

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

testbed = UMockdev.Testbed.new()
gpu = testbed.add_device(
    "pci",
    "0000:01:00.0",
    None,
    ["class", "0x030000", "vendor", "0x10de", "device", "0x2206", "boot_vga", "0"],
    ["PCI_ID", "10DE:2206", "PCI_SLOT_NAME", "0000:01:00.0"],
)
testbed.set_attribute_link(gpu, "driver", "../../bus/pci/drivers/nouveau")


def rebind() -> None:
    """vfio-pci takes the GPU: the driver link changes and the kernel says `bind`."""
    Path(testbed.get_root_dir() + gpu + "/driver").unlink()  # the testbed's file, not /sys
    testbed.set_attribute_link(gpu, "driver", "../../bus/pci/drivers/vfio-pci")
    testbed.uevent(gpu, "bind")
