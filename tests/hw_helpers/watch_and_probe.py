"""Run with Debian's python3 under umockdev-wrapper (it has UMockdev's GObject bindings; the
project's packages come from the venv): a mock PCI GPU on nouveau is moved to vfio-pci with a
`bind` uevent; print what the watcher saw and what pci.gpus says before and after."""

import json
import sys
import threading

sys.path[:0] = sys.argv[1:]  # the repo and the venv's site-packages

from probes.gpus import PciGpus  # noqa: E402
from tests.hw_helpers.mock_gpu import gpu, rebind  # noqa: E402
from workbench.core.host import Host  # noqa: E402
from workbench.core.hwwatch import HardwareWatcher, PciChange  # noqa: E402
from workbench.core.runner import run_probes  # noqa: E402


def driver() -> str:
    result = run_probes(Host("/"), [PciGpus]).get("pci.gpus")
    return str(result.facts["gpus"][0]["driver"])


seen: list[PciChange] = []
got = threading.Event()
watcher = HardwareWatcher(lambda c: (seen.append(c), got.set()))
watcher.start()
watcher.ready.wait(5)
before = driver()
rebind()
got.wait(10)
watcher.stop()
print(
    json.dumps(
        {"before": before, "after": driver(), "device": gpu, "changes": [c.__dict__ for c in seen]}
    )
)
