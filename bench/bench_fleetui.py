"""The fleet's views (issue 16, fleetui): the TUI table of 200 machines to its first frame,
`workbench.fleet`'s HTML of 200 machines, and `workbench fleet --compare` of two captures of
300-device machines (wall, median of 5).
Run from the repository: .venv/bin/python -m bench.bench_fleetui"""

from __future__ import annotations

import asyncio
import copy
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.gen_machine import generate
from workbench.api.fleet import FleetView
from workbench.fleet.model import Fleet, FleetEntry
from workbench.fleet.run import probe_entry
from workbench.machines import build_root
from workbench.ui.fleet.app import FleetApp

WORKBENCH = Path(sys.executable).parent / "workbench"


def fleet_of(root: Path, n: int) -> Fleet:
    one = probe_entry(FleetEntry(root.name, str(root), "root"))
    machines = []
    for i in range(n):
        m = copy.deepcopy(one)
        m.name = f"host-{i:03d}"
        machines.append(m)
    return Fleet(machines)


async def first_frame(fleet: Fleet) -> float:
    start = time.perf_counter()
    app = FleetApp(fleet)
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        a = build_root(generate(300, 120), Path(tmp) / "a")
        b = build_root(generate(300, 120), Path(tmp) / "b")
        fleet = fleet_of(a, 200)
        tui = statistics.median(asyncio.run(first_frame(fleet)) for _ in range(5))
        html = []
        for _ in range(5):
            start = time.perf_counter()
            FleetView(fleet)._repr_html_()
            html.append(time.perf_counter() - start)
        caps = []
        for root in (a, b):
            out = Path(tmp) / f"{root.name}.tar.gz"
            subprocess.run(
                [WORKBENCH, "capture", "--root", root, "-o", out], check=True, capture_output=True
            )
            caps.append(out)
        walls = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([WORKBENCH, "fleet", "--compare", *caps, "--json"], capture_output=True)
            walls.append(time.perf_counter() - start)
    print(f"TUI fleet table, 200 machines, first frame: {tui * 1000:.0f} ms (median of 5)")
    print(f"notebook HTML, 200 machines: {statistics.median(html) * 1000:.1f} ms")
    print(f"compare of two 300-device captures (CLI wall): {statistics.median(walls):.2f} s")


if __name__ == "__main__":
    main()
