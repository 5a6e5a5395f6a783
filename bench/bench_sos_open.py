"""`make bench-sos` (second part): opening a sosreport of a 300-device machine (unpack, translate, every
probe), in-process and through the CLI, and an archive with a 256 MiB journal (its tail kept)."""

from __future__ import annotations

import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench.bench_probe import cpu_model, write_section  # noqa: E402
from workbench.capture.unpack import temp_base  # noqa: E402
from workbench.core.host import Host  # noqa: E402
from workbench.core.runner import run_probes  # noqa: E402
from workbench.sos.archive import unpack_report  # noqa: E402
from workbench.sos.open import open_sos  # noqa: E402

WORKBENCH = str(Path(sys.executable).parent / "workbench")
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
TITLE = "## Opening a sosreport (issue 15)"
TOP = "sosreport-bench-2026-11-29-abcdefg"


def lspci(devices: int) -> str:
    """`lspci -nnvv` of a machine with `devices` functions: GPUs with their audio, NVMe, NICs,
    bridges, in IOMMU groups of a few functions each."""
    kinds = [
        ("VGA compatible controller [0300]", "NVIDIA Corporation GA102 [10de:2204]", "vfio-pci"),
        ("Audio device [0403]", "NVIDIA Corporation GA102 Audio [10de:1aef]", "vfio-pci"),
        ("Non-Volatile memory controller [0108]", "Samsung NVMe [144d:a80a]", "nvme"),
        ("Ethernet controller [0200]", "Intel Corporation I225-V [8086:15f3]", "igc"),
        ("PCI bridge [0604]", "Intel Corporation Device [8086:7a30]", "pcieport"),
    ]
    blocks = []
    for i in range(devices):
        bus, fn = divmod(i, 5)
        cls, name, driver = kinds[fn]
        blocks.append(
            f"{bus // 32:02x}:{bus % 32:02x}.{fn} {cls}: {name} (rev 01)\n"
            f"\tSubsystem: Vendor Device [1234:{i:04x}]\n"
            f"\tIOMMU group: {i // 3}\n"
            f"\tKernel driver in use: {driver}\n"
        )
    return "\n".join(blocks)


def report(parent: Path, journal_mib: int = 0) -> Path:
    """A sosreport-shaped directory: 300-device lspci, a 20,000-line dmesg, /proc, 1,500 module
    parameters, and `journal_mib` MiB of journal."""
    top = parent / TOP
    files = {
        "version.txt": "sosreport: 4.5.6\n",
        "sos_commands/pci/lspci_-nnvv": lspci(300),
        "sos_commands/kernel/dmesg": "".join(
            f"[{i / 10:12.6f}] pci 0000:{i % 256:02x}:00.0: Adding to iommu group {i % 120}\n"
            for i in range(20_000)
        ),
        "proc/cmdline": "BOOT_IMAGE=/vmlinuz intel_iommu=on iommu=pt\n",
        "proc/cpuinfo": "processor\t: 0\nflags\t\t: fpu vmx sse2\n\n" * 16,
        "sos_commands/host/hostname": "bench\n",
    }
    for rel, text in files.items():
        path = top / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (top / "lspci").symlink_to("sos_commands/pci/lspci_-nnvv")
    for i in range(1500):  # as many small files as a real report of these plugins (~1,400)
        param = top / f"sys/module/mod{i // 10}/parameters/p{i % 10}"
        param.parent.mkdir(parents=True, exist_ok=True)
        param.write_text(f"{i}\n")
    if journal_mib:
        line = b"Nov 29 10:00:00 bench kernel: vfio-pci 0000:01:00.0: enabling device\n"
        journal = top / "sos_commands/logs/journalctl_--no-pager"
        journal.parent.mkdir(parents=True, exist_ok=True)
        with journal.open("wb") as fh:
            block = line * (1024 * 1024 // len(line))
            for _ in range(journal_mib):
                fh.write(block)
    return top


def pack(top: Path, out: Path, mode: str, **kwargs: int) -> Path:
    with tarfile.open(out, mode, **kwargs) as tar:  # type: ignore[call-overload]
        tar.add(top, arcname=top.name)
    return out


def wall(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, check=False, capture_output=True, env=env)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{cmd} failed: {done.stderr.decode()}")
    return time.perf_counter() - started


def main() -> int:
    out = REPO / "bench" / "out" / "sos"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    top = report(out / "dir")
    archive = pack(top, out / f"{TOP}.tar.xz", "w:xz")
    with tarfile.open(archive) as tar:
        members = len(tar.getmembers())
    unpack_s, disk_s, open_s, report_s = [], [], [], []
    for _ in range(RUNS):
        # Where open_sos unpacks (tmpfs, as a capture), and on disk for comparison.
        for base, took in ((temp_base(), unpack_s), (None, disk_s)):
            into = Path(tempfile.mkdtemp(dir=base))
            started = time.perf_counter()
            unpack_report(archive, into / "report")
            took.append(time.perf_counter() - started)
            shutil.rmtree(into)
        started = time.perf_counter()
        with open_sos(archive) as opened:
            open_s.append(time.perf_counter() - started)
            run_probes(Host(opened.root))
            report_s.append(time.perf_counter() - started)
    env = {**os.environ, "WORKBENCH_LOG_FILE": str(out / "wb.log")}
    cli_archive = statistics.median(
        wall([WORKBENCH, "probe", "--sos", str(archive)], env) for _ in range(RUNS)
    )
    cli_dir = statistics.median(
        wall([WORKBENCH, "probe", "--sos", str(top)], env) for _ in range(RUNS)
    )
    big_top = report(out / "big", journal_mib=256)
    big = pack(big_top, out / "big.tar.gz", "w:gz", compresslevel=1)
    shutil.rmtree(big_top.parent)
    cli_big = wall([WORKBENCH, "probe", "--sos", str(big)], env)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.0f} ms"

    lines = [
        TITLE,
        "",
        "Command: `make bench-sos` (runs `bench/bench_sos_open.py` among others): a sosreport-shaped "
        "report of a 300-function machine (lspci -nnvv with IOMMU groups, 20,000 dmesg lines, "
        f"/proc, 1,500 module parameters) as sos packs it (.tar.xz); {RUNS} runs, medians.",
        f"Machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}; "
        f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Archive: {archive.stat().st_size / 1024:.0f} KiB, {members} members.",
        "",
        "| measure | result |",
        "|---|---|",
        f"| unpack: check every member, write into {temp_base() or tempfile.gettempdir()} "
        f"(what open_sos does; in-process) | {ms(unpack_s)} |",
        f"| the same unpack into {tempfile.gettempdir()} (disk; in-process) | {ms(disk_s)} |",
        f"| open: unpack + translate into a machine root (in-process) | {ms(open_s)} |",
        f"| open + every probe (in-process) | {ms(report_s)} |",
        f"| `workbench probe --sos ARCHIVE` (CLI, wall) | {cli_archive * 1000:.0f} ms |",
        f"| `workbench probe --sos DIR` (read in place; CLI, wall) | {cli_dir * 1000:.0f} ms |",
        f"| `workbench probe --sos` of a .tar.gz with a 256 MiB journal (its last 64 MiB "
        f"kept; CLI, wall) | {cli_big * 1000:.0f} ms |",
        f"| peak memory of any CLI run above (max RSS) | {peak_mib:.0f} MiB |",
        "",
        "A report unpacks where a capture does (tmpfs unless TMPDIR is set): on disk its "
        f"unpack alone is {statistics.median(disk_s) / statistics.median(unpack_s):.0f} times "
        "slower here. It is bounded by the free space of that directory (less a headroom), "
        "and a full one is said as such (`SOS_NO_SPACE`: set TMPDIR to a larger directory).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    write_section(TITLE, text)
    shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
