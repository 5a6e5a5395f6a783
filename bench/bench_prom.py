"""`make bench-prom`: `probe --format prometheus -o FILE` against `probe --json`, and the
rendering alone on a large report; writes the medians to bench/RESULTS.md."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench.bench_probe import cpu_model, write_section  # noqa: E402
from bench.gen_machine import generate  # noqa: E402
from workbench.core.promtext import render  # noqa: E402
from workbench.core.report import Finding, ProbeResult, Report  # noqa: E402
from workbench.machines import build_root  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "11"))
WORKBENCH = str(Path(sys.executable).parent / "workbench")
MARKER = "## `workbench probe --format prometheus` (issue 16)"


def wall_ms(cmd: list[str]) -> float:
    """Median wall time of `cmd` over RUNS runs after one warm-up."""
    times = []
    for i in range(RUNS + 1):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, check=False)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr!r}")
        if i:
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def big_report(probes: int) -> Report:
    """`probes` results, each with a finding naming its own cause and a hostile character."""
    return Report(
        host={},
        probes=[
            ProbeResult(
                id=f'x.p{i}"\\',
                title="t",
                status="warn",
                summary="s",
                findings=[Finding("F", "warn", "m", cause=f"CAUSE_{i}\n")],
                duration_ms=1.25,
            )
            for i in range(probes)
        ],
    )


def render_ms(report: Report) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(RUNS):
        start = time.perf_counter()
        size = len(render(report).encode())
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), size


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = str(build_root(generate(300, 120), Path(tmp) / "generated-300"))
        out = Path(tmp) / "workbench.prom"
        json_ms = wall_ms([WORKBENCH, "probe", "--root", root, "--json"])
        prom_ms = wall_ms(
            [WORKBENCH, "probe", "--root", root, "--format", "prometheus", "-o", str(out)]
        )
        size = out.stat().st_size
        lines_n = len(out.read_text().splitlines())
    render_small, _ = render_ms(big_report(15))
    render_big, big_size = render_ms(big_report(10_000))
    lines = [
        MARKER,
        "",
        f"Command: `make bench-prom` (runs `bench/bench_prom.py`, {RUNS} runs each after one "
        "warm-up; median).",
        f"Machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}; "
        f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "| measure | result |",
        "|---|---|",
        f"| `probe --json`, generated 300-function machine (wall) | {json_ms:.0f} ms |",
        f"| `probe --format prometheus -o FILE`, same machine (wall, fsync and rename included) "
        f"| {prom_ms:.0f} ms ({size:,} bytes, {lines_n} lines) |",
        f"| `render()` of 15 probes | {render_small:.3f} ms |",
        f"| `render()` of 10,000 probes and 10,000 causes, hostile labels | {render_big:.1f} ms "
        f"({big_size / 1e6:.1f} MB) |",
    ]
    text = "\n".join(lines) + "\n"
    write_section(MARKER, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
