"""The machine part of a sosreport's root (workbench.sos.machinebuild) on a large report: a
2 GB journal (sparse: lines at its start and end) without dmesg, 20,000 processes in
`ps auxwww`, a /dev listing of 20,000 nodes, 300 modules in lsmod. Time of `build_machine`
(medians of RUNS) and the peak RSS of a process that runs it once; the hotsos slice too when
../shared holds it. Prints a Markdown section; with --write, puts it into bench/RESULTS.md."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench.bench_probe import cpu_model, write_section  # noqa: E402
from workbench.core.host import Host  # noqa: E402
from workbench.sos.machinebuild import build_machine  # noqa: E402
from workbench.sos.model import SosNotes  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
JOURNAL_BYTES = 2 * 1024**3
HOTSOS = REPO.parent / "shared" / "peer-data" / "hotsos-openstack"
KERNEL = "Nov 29 10:00:{s:02d} host kernel: usb 1-{n}: new high-speed USB device number {n}\n"
PS = "root {pid} 0.0 0.1 1000 100 ? Ss Nov28 0:00 /usr/bin/{name} --flag {pid}\n"


def make_report(top: Path) -> None:
    """A report as large as a busy hypervisor's, its journal sparse (2 GB, little on disk)."""
    (top / "sos_commands/logs").mkdir(parents=True)
    (top / "sos_commands/process").mkdir(parents=True)
    (top / "sos_commands/kernel").mkdir(parents=True)
    (top / "sos_commands/block").mkdir(parents=True)
    (top / "version.txt").write_text("sosreport: 4.5.6\n")
    lines = "".join(KERNEL.format(s=n % 60, n=n) for n in range(100_000)).encode()
    journal = top / "sos_commands/logs/journalctl_--no-pager_--boot"
    with journal.open("wb") as fh:
        fh.write(lines)
        fh.truncate(JOURNAL_BYTES - len(lines))
        fh.seek(JOURNAL_BYTES - len(lines))
        fh.write(lines)
    names = ("bash", "qemu-system-x86_64", "libvirtd", "sshd", "python3")
    ps = "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND\n" + "".join(
        PS.format(pid=p, name=names[p % len(names)]) for p in range(1, 20_001)
    )
    (top / "sos_commands/process/ps_auxwww").write_text(ps)
    dev = "/dev:\ntotal 0\ncrw-rw---- 1 0 108 10, 232 Nov 29 10:00 kvm\n" + "".join(
        f"brw-rw---- 1 0 6 8, {n % 256} Nov 29 10:00 sd{n}\n" for n in range(20_000)
    )
    (top / "sos_commands/block/ls_-lanR_.dev").write_text(dev)
    lsmod = "Module Size Used by\n" + "".join(f"mod_{n} 16384 0\n" for n in range(300))
    (top / "sos_commands/kernel/lsmod").write_text(lsmod)


def once(top: Path, work: Path) -> float:
    out = Path(tempfile.mkdtemp(dir=work))
    started = time.perf_counter()
    build_machine(SosNotes(Host(top), out))
    return time.perf_counter() - started


def peak_rss_kib(top: Path) -> int:
    code = (
        "import sys, tempfile; from pathlib import Path; from workbench.core.host import Host; "
        "from workbench.sos.machinebuild import build_machine; from workbench.sos.model import "
        "SosNotes; build_machine(SosNotes(Host(sys.argv[1]), Path(tempfile.mkdtemp())))"
    )
    subprocess.run([sys.executable, "-c", code, str(top)], check=True, cwd=REPO)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def main() -> int:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        big = work / "report"
        make_report(big)
        times = [once(big, work) for _ in range(RUNS)]
        rss = peak_rss_kib(big)
        rows.append(
            f"| large report (2 GB journal, 20k processes, 20k /dev nodes) | "
            f"{statistics.median(times) * 1000:.0f} ms | {rss / 1024:.0f} MB |"
        )
        if HOTSOS.is_dir():
            small = [once(HOTSOS, work) for _ in range(RUNS)]
            rows.append(
                f"| hotsos slice (sos 4.2) | {statistics.median(small) * 1000:.1f} ms | - |"
            )
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    text = "\n".join(
        [
            "## The machine part of a sosreport (issue 15)",
            "",
            "Command: `.venv/bin/python bench/bench_sos_machine.py --write`. `build_machine` "
            f"(/proc, modules, /dev, processes, kernel and libvirt logs), median of {RUNS} runs; "
            "peak RSS of a process running it once.",
            f"Machine: {os.cpu_count()} cores, {cpu_model()}; measured {when}.",
            "",
            "| report | build_machine | peak RSS |",
            "|---|---|---|",
            *rows,
        ]
    )
    print(text)
    if "--write" in sys.argv:
        write_section("## The machine part of a sosreport", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
