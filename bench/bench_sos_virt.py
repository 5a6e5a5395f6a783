"""The hypervisor part of opening a sosreport: a report with 100 / 1,000 / 10,000 domain
definitions (1,000 read: the cap), 64 running ones, and 64 QEMU logs of 8 MiB each (their
newest 1 MiB copied), timed in-process (open_sos) and through `workbench explain --sos`."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from workbench.sos.open import open_sos  # noqa: E402

WORKBENCH = str(Path(sys.executable).parent / "workbench")
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
LOG_LINE = "2024-03-01T10:00:00.000000Z qemu-system-x86_64: warning: something benign %d\n"


def make(top: Path, domains: int) -> Path:
    """A report of `domains` definitions, 64 of them running, each running one with an 8 MiB
    QEMU log."""
    defined = top / "etc/libvirt/qemu"
    live = top / "run/libvirt/qemu"
    logs = top / "var/log/libvirt/qemu"
    for d in (defined, live, logs, top / "sos_commands/kernel"):
        d.mkdir(parents=True, exist_ok=True)
    (top / "version.txt").write_text("sosreport: 4.5.6\n")
    (top / "sos_commands/kernel/dmesg").write_text("[    0.000000] Linux version 6.1.0\n")
    body = "".join(LOG_LINE % n for n in range(8 * 1024 * 1024 // len(LOG_LINE)))
    for n in range(domains):
        name = f"vm{n:05d}"
        xml = f"<domain type='kvm'><name>{name}</name><devices/></domain>"
        (defined / f"{name}.xml").write_text(xml)
        if n < 64:
            (live / f"{name}.xml").write_text(
                f"<domstatus state='running' reason='booted' pid='{100 + n}'>{xml}</domstatus>"
            )
            (logs / f"{name}.log").write_text(body)
    return top


def main() -> int:
    out = REPO / "bench" / "out" / "sos-virt"
    shutil.rmtree(out, ignore_errors=True)
    rows = []
    for domains in (100, 1_000, 10_000):
        top = make(out / f"report-{domains}", domains)
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            with open_sos(top):
                times.append(time.perf_counter() - started)
        started = time.perf_counter()
        subprocess.run(
            [WORKBENCH, "explain", "--sos", str(top), "--json"], check=False, capture_output=True
        )
        cli = time.perf_counter() - started
        rows.append((domains, statistics.median(times), cli))
    print("| definitions | open_sos median (s) | `explain --sos` wall (s) |")
    print("|---|---|---|")
    for domains, median, cli in rows:
        print(f"| {domains} | {median:.3f} | {cli:.2f} |")
    shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
