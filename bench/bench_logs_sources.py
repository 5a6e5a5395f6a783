"""`workbench logs` over several sources, as a user runs it: three generated structlog files
(BENCH_SOURCE_LINES lines each, default 1,000,000; same times, so fully interleaved) merged
by time, filtered by level, the last lines of the whole merge, and the first screen; 3 files
followed at 10,000 lines/s each (a line's write until it is printed); and the kernel followed
live (a line written to /dev/kmsg until it is printed, when writable). Prints
a markdown section (for bench/RESULTS.md)."""

from __future__ import annotations

import json
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent

WORKBENCH = str(Path(sys.executable).parent / "workbench")
LINES = int(os.environ.get("BENCH_SOURCE_LINES", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def run(args: list[str]) -> tuple[float, int]:
    """Median seconds of `workbench logs ARGS` (output to a pipe), and its peak RSS (KB, its
    own: wait4's usage of that process alone)."""
    times, peak = [], 0
    for _ in range(RUNS):
        start = time.perf_counter()
        proc = subprocess.Popen([WORKBENCH, "logs", *args], stdout=subprocess.PIPE)
        assert proc.stdout is not None
        while proc.stdout.read(1 << 20):
            pass
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0  # reaped here
        proc.stdout.close()
        times.append(time.perf_counter() - start)
        peak = max(peak, usage.ru_maxrss)
    return statistics.median(times), peak


def first_screen(args: list[str], rows: int = 24) -> float:
    """Seconds until the first `rows` lines of `workbench logs ARGS` are out."""
    start = time.perf_counter()
    with subprocess.Popen([WORKBENCH, "logs", *args], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        for _ in range(rows):
            proc.stdout.readline()
        took = time.perf_counter() - start
        proc.kill()
    return took


def kmsg_latency(samples: int = 50) -> list[float] | None:
    """Seconds from a write to /dev/kmsg to its line on `logs --kernel --follow`'s stdout."""
    marker = f"wbbench-{uuid.uuid4().hex}"

    def write(text: str) -> None:
        with Path("/dev/kmsg").open("w") as kmsg:
            kmsg.write(f"<6>{marker} {text}\n")

    try:
        write("ready")
    except OSError:
        return None
    argv = [WORKBENCH, "logs", "--kernel", "-f", "--json", "--grep", marker, "-n", "5"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        fd, seen = proc.stdout.fileno(), b""

        def until(word: bytes) -> None:
            nonlocal seen
            deadline = time.monotonic() + 30
            while word not in seen and time.monotonic() < deadline:
                if select.select([fd], [], [], 0.01)[0]:
                    seen += os.read(fd, 65536)

        until(b"ready")
        took = []
        for i in range(samples):
            start = time.monotonic()
            write(f"n{i}x")
            until(f"n{i}x".encode())
            took.append(time.monotonic() - start)
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
    return sorted(took)


def follow_latency(tmp: str, rate: int = 10_000, seconds: float = 3.0) -> list[float]:
    """Seconds from writing a line to one of 3 followed files (`rate` lines/s each, in 10 ms
    bursts) to its line on `logs A B C --follow --json`'s stdout (the time-order hold
    included)."""
    paths = [Path(tmp) / f"f{k}.log" for k in range(3)]
    for path in paths:
        path.write_text("")
    written: dict[str, float] = {}
    took: list[float] = []
    argv = [WORKBENCH, "logs", *map(str, paths), "--follow", "--json", "-n", "0"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        out = proc.stdout

        def read() -> None:
            for line in out:
                when = time.monotonic()
                event = json.loads(line).get("event", "")
                if event in written:
                    took.append(when - written[event])

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        time.sleep(1.0)  # the follow started
        files = [path.open("a") for path in paths]
        burst = rate // 100
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < seconds:
            stamp = datetime.now(UTC).isoformat()
            for out_file in files:
                chunk = []
                for _ in range(burst):
                    n += 1
                    chunk.append(f'{{"timestamp": "{stamp}", "level": "info", "event": "e{n}"}}\n')
                    written[f"e{n}"] = time.monotonic()
                out_file.write("".join(chunk))
                out_file.flush()
            time.sleep(max(0.0, 0.01 - (time.monotonic() - start) % 0.01))
        time.sleep(2.0)
        proc.send_signal(signal.SIGTERM)
        for out_file in files:
            out_file.close()
    reader.join(timeout=5)
    return sorted(took)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        paths = [str(Path(tmp) / f"s{k}.log") for k in range(3)]
        for path in paths:  # in a child: a big parent would count in its children's peak RSS
            gen = [sys.executable, str(HERE / "gen_logs.py"), str(LINES), path]
            subprocess.run(gen, check=True)
        level, level_rss = run([*paths, "--level", "error"])
        last, last_rss = run([*paths, "-n", "20"])
        screen = first_screen([*paths, "--color", "never"])
        for path in paths:
            Path(path).unlink()
        followed = follow_latency(tmp)
    latency = kmsg_latency()
    total = 3 * LINES
    print(f"### logs over 3 sources of {LINES:,} lines each (merged by time)\n")
    print("| what | time | lines/s | peak RSS |")
    print("|---|---|---|---|")
    print(f"| first screen (24 lines) | {screen * 1000:.0f} ms | | |")
    print(f"| --level error, full merge | {level:.2f} s | {total / level:,.0f} | {level_rss} KB |")
    print(f"| -n 20, full merge | {last:.2f} s | {total / last:,.0f} | {last_rss} KB |")
    if followed:
        p99 = followed[min(len(followed) - 1, int(len(followed) * 0.99))]
        print(
            f"\n`logs A B C --follow --json`, 3 files at 10,000 lines/s each: write to stdout, "
            f"{len(followed):,} lines: median {statistics.median(followed) * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms (a 200 ms hold puts lines in time order)"
        )
    if latency is None:
        print("\n/dev/kmsg is not writable: the kernel follow latency was not measured.")
    else:
        p99 = latency[min(len(latency) - 1, int(len(latency) * 0.99))]
        print(
            f"\n`logs --kernel --follow`: /dev/kmsg write to stdout, {len(latency)} lines: "
            f"median {statistics.median(latency) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
