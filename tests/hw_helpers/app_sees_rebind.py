"""Run with Debian's python3 under umockdev-wrapper: the workbench on the (mock) live machine;
the GPU moves from nouveau to vfio-pci; print the pci.gpus driver before and after, and the
notification the operator saw."""

import asyncio
import json
import sys

sys.path[:0] = sys.argv[1:]

from tests.hw_helpers.mock_gpu import rebind  # noqa: E402
from workbench.ui.app import WorkbenchApp  # noqa: E402
from workbench.ui.config import UiConfig  # noqa: E402


def gpu_driver(app: WorkbenchApp) -> object:
    result = app.probes.results.get("pci.gpus")
    return None if result is None else result.facts["gpus"][0]["driver"]


async def main() -> dict[str, object]:
    app = WorkbenchApp(UiConfig(root="/", connect=None, stable=True))
    async with app.run_test() as pilot:
        for _ in range(200):
            if app.probes.report is not None:
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
