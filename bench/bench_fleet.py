"""`make bench-fleet`: `workbench fleet` over 200 captures of a 300-device machine against
`workbench probe` on one of them alone; the peak memory of the fleet's whole process tree
(sampled from /proc every 20 ms: the sum of every process's RSS at that instant)."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench.bench_probe import cpu_model, write_section  # noqa: E402
from bench.gen_machine import generate  # noqa: E402
from workbench.machines import build_root  # noqa: E402

WORKBENCH = str(Path(sys.executable).parent / "workbench")
MACHINES = int(os.environ.get("BENCH_MACHINES", "200"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(pid: int) -> int:
    """Bytes resident in `pid` and all its descendants, now."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        entry = proc.name
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            statm = Path(f"/proc/{entry}/statm").read_text().split()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(statm[1]) * PAGE
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += rss.get(current, 0)
        todo.extend(children.get(current, []))
    return total


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak tree RSS of `cmd`."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - started
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd} failed ({proc.returncode}): {err}")
    return wall, peak


def main() -> int:
    out = REPO / "bench" / "out" / "fleet"
    shutil.rmtree(out, ignore_errors=True)
    root = build_root(generate(300, 120), out / "generated-300")
    env = {**os.environ, "WORKBENCH_LOG_FILE": str(out / "wb.log")}
    one = out / "one.tar.gz"
    subprocess.run(
        [WORKBENCH, "capture", "--root", str(root), "-o", str(one)],
        env=env,
        check=True,
        capture_output=True,
    )
    fleet = out / "captures"
    fleet.mkdir()
    for i in range(MACHINES):
        shutil.copy(one, fleet / f"host-{i:03d}.tar.gz")
    alone = [run([WORKBENCH, "probe", "--capture", str(one), "--json"], env) for _ in range(5)]
    many = [run([WORKBENCH, "fleet", str(fleet), "--json"], env) for _ in range(RUNS)]
    alone_s = statistics.median(w for w, _ in alone)
    fleet_s = statistics.median(w for w, _ in many)
    peak_mb = max(p for _, p in many) / 1e6
    ratio = fleet_s / alone_s
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = f"""## `workbench fleet` (issue 16)

Command: `make bench-fleet` (runs `bench/bench_fleet.py`): {MACHINES} copies of one capture of
the generated 300-device machine (`bench/gen_machine.py`, {one.stat().st_size} bytes each),
`workbench fleet DIR --json` ({RUNS} runs, median) against `workbench probe --capture ONE --json`
(5 runs, median). Peak memory: the sum of the RSS of the fleet command and its workers,
sampled every 20 ms.
Machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}; measured {now}.

| measure | result | target |
|---|---|---|
| probe one capture alone | {alone_s * 1000:.0f} ms | |
| fleet of {MACHINES} captures | {fleet_s:.2f} s ({fleet_s / MACHINES * 1000:.1f} ms a machine) | |
| fleet / one alone | {ratio:.1f}x | at most 4x: {"met" if ratio <= 4 else "NOT met"} |
| peak memory, whole process tree | {peak_mb:.0f} MB | under 500 MB: {"met" if peak_mb < 500 else "NOT met"} |
"""
    write_section("## `workbench fleet` (issue 16)", text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
