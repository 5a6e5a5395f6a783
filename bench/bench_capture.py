"""`make bench-capture`: capture and open of the generated 300-device machine, in-process (the
engine's cost) and through the CLI (what an operator waits for)."""

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
from workbench.capture.collect import capture  # noqa: E402
from workbench.capture.collectors import Source  # noqa: E402
from workbench.capture.unpack import open_capture  # noqa: E402
from workbench.core.host import Host  # noqa: E402
from workbench.core.runner import run_probes  # noqa: E402
from workbench.machines import build_root  # noqa: E402

WORKBENCH = str(Path(sys.executable).parent / "workbench")
RUNS = int(os.environ.get("BENCH_RUNS", "7"))


def wall(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, check=False, capture_output=True, env=env)
    if done.returncode not in (0, 1):  # 1: a probe failed, which a generated machine may
        raise SystemExit(f"{cmd} failed: {done.stderr.decode()}")
    return time.perf_counter() - started


def main() -> int:
    out = REPO / "bench" / "out" / "capture"
    shutil.rmtree(out, ignore_errors=True)
    root = build_root(generate(300, 120), out / "generated-300")
    archive = out / "generated-300.tar.gz"
    source = Source(Host(root))  # no log, no hypervisor: the machine's files alone
    collect_s, open_s, report_s = [], [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        result = capture(source, archive)
        collect_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        with open_capture(archive) as opened:
            open_s.append(time.perf_counter() - started)
            run_probes(Host(opened))  # no hypervisor was recorded
            report_s.append(time.perf_counter() - started)
    files = len(result.manifest["files"])
    links = len(result.manifest["links"])
    env = {**os.environ, "WORKBENCH_LOG_FILE": str(out / "wb.log")}
    cli_capture = statistics.median(
        wall([WORKBENCH, "capture", "--root", str(root), "-o", str(archive)], env)
        for _ in range(RUNS)
    )
    cli_probe = statistics.median(
        wall([WORKBENCH, "probe", "--capture", str(archive)], env) for _ in range(RUNS)
    )
    cli_root = statistics.median(
        wall([WORKBENCH, "probe", "--root", str(root)], env) for _ in range(RUNS)
    )

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.0f} ms"

    lines = [
        "## Captures (issue 6)",
        "",
        "Command: `make bench-capture` (runs `bench/bench_capture.py`): the generated machine "
        f"(300 PCI functions, 120 IOMMU groups); {RUNS} runs, medians.",
        f"Machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}; "
        f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Archive: {archive.stat().st_size / 1024:.0f} KiB, {files} files and {links} links.",
        "",
        "| measure | result |",
        "|---|---|",
        f"| collect + redact + write (in-process) | {ms(collect_s)} |",
        f"| open: check every member and checksum, unpack (in-process) | {ms(open_s)} |",
        f"| open + every probe on the capture (in-process) | {ms(report_s)} |",
        f"| `workbench capture --root` (CLI, wall) | {cli_capture * 1000:.0f} ms |",
        f"| `workbench probe --capture` (CLI, wall) | {cli_probe * 1000:.0f} ms |",
        f"| `workbench probe --root` of the same machine, for comparison | {cli_root * 1000:.0f} ms |",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    write_section("## Captures (issue 6)", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
