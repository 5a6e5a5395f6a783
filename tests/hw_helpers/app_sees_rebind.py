"""Run with Debian's python3 under umockdev-wrapper: the workbench on the (mock) live machine;
the GPU moves from nouveau to vfio-pci; print the pci.gpus driver before and after, and the
notification the operator saw."""

import asyncio
import json
import sys
from pathlib import Path

sys.path[:0] = sys.argv[1:]

import gi  # noqa: E402

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

from workbench.ui.app import WorkbenchApp  # noqa: E402
from workbench.ui.config import UiConfig  # noqa: E402

testbed = UMockdev.Testbed.new()
gpu = testbed.add_device(
    "pci",
    "0000:01:00.0",
    None,
    ["class", "0x030000", "vendor", "0x10de", "device", "0x2206", "boot_vga", "0"],
    ["PCI_SLOT_NAME", "0000:01:00.0"],
)
testbed.set_attribute_link(gpu, "driver", "../../bus/pci/drivers/nouveau")


def rebind() -> None:
    """vfio-pci takes the GPU: the driver link changes and the kernel says `bind`."""
    Path(testbed.get_root_dir() + gpu + "/driver").unlink()  # the testbed's file, not /sys
    testbed.set_attribute_link(gpu, "driver", "../../bus/pci/drivers/vfio-pci")
    testbed.uevent(gpu, "bind")


def gpu_driver(app: WorkbenchApp) -> object:
    result = app.results.get("pci.gpus")
    return None if result is None else result.facts["gpus"][0]["driver"]


async def main() -> dict[str, object]:
    app = WorkbenchApp(UiConfig(root="/", connect=None, stable=True))
    async with app.run_test() as pilot:
        for _ in range(200):
            if app.report is not None:
                break
            await pilot.pause(0.05)
        before = gpu_driver(app)
        await pilot.pause(0.5)  # the watcher is listening
        rebind()
        for _ in range(200):
            if gpu_driver(app) == "vfio-pci":
                break
            await pilot.pause(0.05)
        notes = [str(n.message) for n in app._notifications]
        return {"before": before, "after": gpu_driver(app), "notes": notes}


print(json.dumps(asyncio.run(main())))
