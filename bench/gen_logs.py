"""Write a realistic structlog JSON-lines file (what Workbench itself logs) for benchmarks.

Deterministic: the same N gives the same file. About 220 bytes a line.
Usage: python bench/gen_logs.py N OUT
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

LEVELS = ["debug"] * 10 + ["info"] * 80 + ["warning"] * 7 + ["error"] * 2 + ["critical"]
EVENTS = [
    "probe.finished",
    "connection.state",
    "attempt.failed",
    "vm.transition",
    "agent.query",
    "capture.collector",
    "fallback.served",
    "event.unapplied",
]
LOGGERS = [
    "workbench.core.runner",
    "workbench.virt.session",
    "workbench.core.recovery",
    "workbench.virt.agent",
    "workbench.logs.follow",
]
VMS = ["win11", "gaming", "ubuntu-dev", "truenas", "macos"]
PROBES = ["pci.gpus", "iommu.groups", "vfio.binding", "guest.agent", "libvirt.domains"]


def lines(n: int, seed: int = 7, offset: int = 0) -> list[str]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    out = []
    for i in range(offset, offset + n):
        level = rng.choice(LEVELS)
        record = {
            "timestamp": (start + timedelta(milliseconds=37 * i))
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": level,
            "event": rng.choice(EVENTS),
            "logger": rng.choice(LOGGERS),
            "vm": rng.choice(VMS),
            "probe": rng.choice(PROBES),
            "attempt": rng.randint(1, 5),
            "duration_ms": round(rng.uniform(0.1, 900), 3),
            "seq": i,
        }
        if level in ("error", "critical"):
            record["error"] = {
                "error": "GUEST_AGENT_TIMEOUT",
                "message": "no answer within 3 s",
                "recoverable": True,
            }
        out.append(json.dumps(record))
    return out


def main(argv: list[str]) -> int:
    n, path = int(argv[1]), Path(argv[2])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        for chunk_start in range(0, n, 100_000):
            fh.write(
                "\n".join(
                    lines(min(100_000, n - chunk_start), seed=chunk_start, offset=chunk_start)
                )
                + "\n"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
