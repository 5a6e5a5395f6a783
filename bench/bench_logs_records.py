"""The log engine on the logs a support engineer reads besides ours: 1,000,000 lines of
journald JSON (`journalctl -o json`: the PRIORITY fast path, the __REALTIME_TIMESTAMP
window) and 1,000,000 lines of a QEMU text log (levels, --grep and --since by layout, with
continuation lines). Prints a table; bench/RESULTS.md is the lead's. Run:
`.venv/bin/python bench/bench_logs_records.py` (BENCH_RUNS=3 by default)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.bench_logs import WORKBENCH, wall  # noqa: E402

LINES = 1_000_000
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
START_US = 1_764_403_200_000_000  # 2025-11-29T08:00:00Z
# journald's priorities as a busy host logs them: mostly info, some notices, few errors
PRIORITIES = "6" * 80 + "5" * 12 + "4" * 6 + "3" * 2


def journald(path: Path) -> None:
    with path.open("w") as out:
        for i in range(LINES):
            record = {
                "__CURSOR": f"s=e991dd57;i={i:x};b=0dc874d3;m={i:x};t=573f280a;x=9ceeb77e",
                "__REALTIME_TIMESTAMP": str(START_US + i * 10_000),
                "__MONOTONIC_TIMESTAMP": str(38_708_007 + i * 10_000),
                "_BOOT_ID": "0dc874d3fbd44bdbb6fbcfaa27481492",
                "PRIORITY": PRIORITIES[i % len(PRIORITIES)],
                "_HOSTNAME": "hv1",
                "SYSLOG_FACILITY": "3",
                "_PID": "1234",
                "_COMM": "libvirtd",
                "SYSLOG_IDENTIFIER": "libvirtd",
                "_SYSTEMD_UNIT": "libvirtd.service",
                "MESSAGE": f"internal error: qemu unexpectedly closed the monitor {i}",
            }
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


def qemu(path: Path) -> None:
    with path.open("w") as out:
        for i in range(LINES // 4):
            stamp = f"2025-11-29T08:{i // 6000 % 60:02d}:{i // 100 % 60:02d}.{i % 100:06d}Z"
            out.write(f"{stamp} qemu-system-x86_64: vfio 0000:01:00.0: event {i}\n")
            out.write(f"{stamp} qemu-system-x86_64: warning: host lacks x2apic {i}\n")
            word = "error" if i % 50 == 0 else "info"
            out.write(f"{stamp} qemu-system-x86_64: {word}: device reset {i}\n")
            out.write(f"    detail of record {i}\n")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-records-") as tmp:
        jpath, qpath = Path(tmp) / "journal.json", Path(tmp) / "qemu.log"
        journald(jpath)
        qemu(qpath)
        rows = [
            ("journald JSON, `--level error`", f"{WORKBENCH} logs {jpath} --level error --json"),
            (
                "journald JSON, `--level warning`",
                f"{WORKBENCH} logs {jpath} --level warning --json",
            ),
            (
                "journald JSON, `--since` (last 1%)",
                f"{WORKBENCH} logs {jpath} --since 2025-11-29T10:45:00Z --json",
            ),
            ("QEMU text log, `--level error`", f"{WORKBENCH} logs {qpath} --level error --json"),
            (
                "QEMU text log, `--grep 'reset 4242$'`",
                f"{WORKBENCH} logs {qpath} --grep 'reset 4242$' --json",
            ),
            (
                "QEMU text log, `--since` (last 10%)",
                f"{WORKBENCH} logs {qpath} --since 2025-11-29T08:38:00Z --json",
            ),
        ]
        print(f"| 1,000,000 lines ({RUNS} runs, median) | seconds | MB |")
        print("|---|---|---|")
        for name, cmd in rows:
            path = jpath if "journald" in name else qpath
            took = wall(cmd, RUNS)
            print(f"| {name} | {took:.2f} | {path.stat().st_size / 1e6:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
