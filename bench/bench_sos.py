"""`make bench-sos`: a 300-device sosreport opened and judged, against the same machine as a root.

The report is generated (bench/gen_machine.py's machine written by tests/sosfixtures.py: lspci
-nnvv, dmesg, one node-device XML per function) in a temporary directory. Measured: `workbench
probe --sos DIR --json` wall time; in-process, the translation (report -> machine root) and the
probes apart; `workbench probe --root` of the same machine; and the report as a .tar.xz.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench.bench_probe import cpu_model, timed, write_section  # noqa: E402
from bench.gen_machine import generate  # noqa: E402
from tests.sosfixtures import write_sos_fixture  # noqa: E402
from workbench.capture.unpack import _temp_base  # noqa: E402
from workbench.core.errors import WorkbenchError  # noqa: E402
from workbench.core.host import Host  # noqa: E402
from workbench.core.runner import run_probes  # noqa: E402
from workbench.machines import build_root as machine_root  # noqa: E402
from workbench.sos.translate import build_root  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "11"))
WORKBENCH = str(Path(sys.executable).parent / "workbench")
MARKER = "## `workbench probe --sos` (issue 15)"


def median_ms(fn: Callable[[], object], runs: int = RUNS) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def cli_ms(*args: str) -> float:
    cmd = [WORKBENCH, "probe", "--json", *args]
    timed(cmd)
    return statistics.median(timed(cmd)[0] for _ in range(RUNS))


def main() -> int:
    # Where `workbench` itself puts a translated root (tmpfs when there is one): /tmp here is a
    # disk where each file costs ~0.5 ms, which would measure the disk, not the translation.
    with tempfile.TemporaryDirectory(prefix="bench-sos-", dir=_temp_base()) as tmp:
        work = Path(tmp)
        facts = generate(300, 120)
        report = write_sos_fixture(
            facts, work / "sosreport-bench-2026", groups=("nodedev", "lspci", "dmesg")
        )
        files = sum(len(f) for _, _, f in os.walk(report))
        root = machine_root(facts, work / "machine")

        def translate() -> None:
            out = work / "translated"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            build_root(report, out, report.name)

        translate_ms = median_ms(translate)
        probes_ms = median_ms(lambda: run_probes(Host(work / "translated")))
        root_probes_ms = median_ms(lambda: run_probes(Host(root)))
        sos_cli = cli_ms("--sos", str(report))
        root_cli = cli_ms("--root", str(root))
        archive = work / "sosreport-bench-2026.tar.xz"
        with tarfile.open(archive, "w:xz") as tar:
            tar.add(report, arcname=report.name)
        try:
            xz_cli = f"{cli_ms('--sos', str(archive)):.0f} ms"
        except SystemExit as exc:  # the archive opening may not be there yet: said, not hidden
            said = str(exc).strip().splitlines()[-1].replace(str(archive), archive.name)
            xz_cli = f"not measured, refused: {said.rsplit('workbench: ', 1)[-1][:200]}"
        except WorkbenchError as exc:
            xz_cli = f"not measured: {exc.message}"
        size_kib = archive.stat().st_size / 1024
    rows = [
        ("`workbench probe --sos DIR --json` (CLI, wall)", f"{sos_cli:.0f} ms"),
        ("  in-process: translate (report -> machine root)", f"{translate_ms:.1f} ms"),
        ("  in-process: every probe on the translated root", f"{probes_ms:.1f} ms"),
        ("`workbench probe --root` of the same machine (CLI, wall)", f"{root_cli:.0f} ms"),
        ("  in-process: every probe on the machine root", f"{root_probes_ms:.1f} ms"),
        ("ratio --sos DIR / --root (CLI wall)", f"{sos_cli / root_cli:.2f}x"),
        (f"`workbench probe --sos FILE.tar.xz --json` ({size_kib:.0f} KiB archive)", xz_cli),
    ]
    lines = [
        MARKER,
        "",
        f"Command: `make bench-sos` (runs `bench/bench_sos.py`, {RUNS} runs each after one warm-up; "
        "median). Report: the generated machine of bench/gen_machine.py (300 PCI functions, 120 "
        f"IOMMU groups) written as a sosreport by tests/sosfixtures.py ({files} files: lspci -nnvv, "
        "dmesg with vgaarb / AMD-Vi / `Adding to iommu group` lines, one node-device XML per "
        "function), in a temporary directory on the tmpfs workbench itself translates into.",
        f"Machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "| measure | result |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
    ]
    text = "\n".join(lines) + "\n"
    write_section(MARKER, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
