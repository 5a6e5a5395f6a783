"""Run with Debian's python3 under umockdev-wrapper (it has UMockdev's GObject bindings; the
project's packages come from the venv): a mock PCI GPU on nouveau is moved to vfio-pci with a
`bind` uevent; print what the watcher saw and what pci.gpus says before and after."""

import json
import sys
import threading
from pathlib import Path

sys.path[:0] = sys.argv[1:]  # the repo and the venv's site-packages

import gi  # noqa: E402

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

from probes.gpus import PciGpus  # noqa: E402
from workbench.core.host import Host  # noqa: E402
from workbench.core.hwwatch import HardwareWatcher, PciChange  # noqa: E402
from workbench.core.runner import run_probes  # noqa: E402

testbed = UMockdev.Testbed.new()
gpu = testbed.add_device(
    "pci",
    "0000:01:00.0",
    None,
    ["class", "0x030000", "vendor", "0x10de", "device", "0x2206", "boot_vga", "0"],
    ["PCI_ID", "10DE:2206", "PCI_SLOT_NAME", "0000:01:00.0"],
)
testbed.set_attribute_link(gpu, "driver", "../../bus/pci/drivers/nouveau")


def driver() -> str:
    result = run_probes(Host("/"), [PciGpus]).get("pci.gpus")
    return str(result.facts["gpus"][0]["driver"])


seen: list[PciChange] = []
got = threading.Event()
watcher = HardwareWatcher(lambda c: (seen.append(c), got.set()))
watcher.start()
watcher.ready.wait(5)
before = driver()
Path(testbed.get_root_dir() + gpu + "/driver").unlink()  # the testbed file, not /sys
testbed.set_attribute_link(gpu, "driver", "../../bus/pci/drivers/vfio-pci")
testbed.uevent(gpu, "bind")
got.wait(10)
watcher.stop()
print(
    json.dumps(
        {"before": before, "after": driver(), "device": gpu, "changes": [c.__dict__ for c in seen]}
    )
)
