# ruff: noqa: ASYNC110, ASYNC220 - a bench polls what it measures
"""`make bench-logs` (issue 14): `workbench view` on 3 sources of 1,000,000 lines each merged by
time (time to the first screen, to the full merge, memory), and the follow of 3 sources at
10,000 lines/s each to the screen (write to the row being in the view). Writes bench/RESULTS.md.

The view runs headless (Textual's run_test) in this process; the writers are subprocesses
(their clock is the same CLOCK_MONOTONIC)."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench.bench_probe import cpu_model, write_section  # noqa: E402
from workbench.ui.view.app import ViewApp  # noqa: E402
from workbench.ui.view.filesource import FileSource  # noqa: E402
from workbench.ui.view.screen import ViewScreen  # noqa: E402
from workbench.ui.view.timeline import Timeline  # noqa: E402
from workbench.ui.widgets.merged_view import MergedView  # noqa: E402

LINES = int(os.environ.get("BENCH_VIEW_LINES", "1000000"))
T0 = 1764403200.0
MARKER = "## `workbench view` (issue 14)"


def generate(out: Path) -> list[Path]:
    """A structlog file, a journald JSON file and a QEMU text log, times interleaved."""
    paths = [out / "view-structlog.jsonl", out / "view-journal.json", out / "view-qemu.log"]
    if all(p.exists() and p.stat().st_size > LINES * 40 for p in paths):
        return paths
    with paths[0].open("w") as a, paths[1].open("w") as b, paths[2].open("w") as c:
        for i in range(LINES):
            t = T0 + i * 0.003
            iso = datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")
            level = "error" if i % 50 == 0 else "info"
            a.write(f'{{"timestamp": "{iso}", "level": "{level}", "event": "tick", "n": {i}}}\n')
            b.write(
                f'{{"__REALTIME_TIMESTAMP": "{int((t + 0.001) * 1e6)}", "PRIORITY": "6", '
                f'"SYSLOG_IDENTIFIER": "libvirtd", "MESSAGE": "journal {i}"}}\n'
            )
            iso_c = datetime.fromtimestamp(t + 0.002, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            c.write(f"{iso_c} qemu-system-x86_64: qemu line {i}\n")
    return paths


def open_timeline(paths: list[Path]) -> Timeline:
    return Timeline([FileSource(str(p)) for p in paths])


async def merge_times(paths: list[Path]) -> tuple[float, float, float, int, int]:
    """(the screen mounted s, first screen s, full merge s, rows, bytes in the arrays)."""
    mounted: list[float] = []

    shown: list[float] = []

    class Timed(ViewScreen):
        def on_mount(self) -> None:
            mounted.append(time.perf_counter())
            super().on_mount()

        def _grew(self) -> None:
            super()._grew()  # the view now holds a screenful: drawn at its next frame
            if not shown and self.query_one(MergedView).count() >= 48:
                shown.append(time.perf_counter())

    class App(ViewApp):
        def on_mount(self) -> None:
            self.push_screen(Timed(self.timeline))

    start = time.perf_counter()
    timeline = open_timeline(paths)
    app = App(timeline)
    async with app.run_test(size=(160, 48)):
        while not shown:
            await asyncio.sleep(0.001)
        first = shown[0] - start
        screen: Any = app.screen
        while not screen.merged:
            await asyncio.sleep(0.01)
        full = time.perf_counter() - start
    arrays = len(timeline.src) + timeline.num.itemsize * len(timeline.num) + len(timeline.levels)
    arrays += sum(s.offsets.itemsize * len(s.offsets) + len(s.levels) for s in timeline.sources)
    rows = len(timeline)
    timeline.close()
    return mounted[0] - start, first, full, rows, arrays


WRITER = """
import sys, time
path, rate, seconds, name = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
with open(path, "a") as fh:
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        due = start + i / rate
        while (now := time.monotonic()) < due:
            time.sleep(min(0.001, due - now))
        fh.write('{"level": "info", "event": "%s", "n": %d, "t": %d}\\n' % (name, i, time.monotonic_ns()))
        fh.flush()
"""


async def follow_latency(out: Path, rate: int = 10_000, seconds: float = 3.0) -> list[float]:
    """3 writers at `rate` lines/s each; each new row's write-to-view latency in ms, taken when
    the UI thread has put it in the view."""
    paths = [out / f"view-follow-{i}.jsonl" for i in range(3)]
    for p in paths:
        p.write_text("")
    latencies: list[float] = []

    class Measured(ViewScreen):
        seen = 0

        def _grew(self) -> None:
            super()._grew()
            now, end = time.monotonic_ns(), len(self.timeline)  # the merge goes on meanwhile
            for row in range(self.seen, end):
                sent = json.loads(self.timeline.raw(row))["t"]
                latencies.append((now - sent) / 1e6)
            self.seen = end

    class App(ViewApp):
        def on_mount(self) -> None:
            self.push_screen(Measured(self.timeline))

    timeline = open_timeline(paths)
    async with App(timeline).run_test(size=(160, 48)):
        await asyncio.sleep(0.5)
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, str(p), str(rate), str(seconds), p.stem]
            )
            for p in paths
        ]
        while any(w.poll() is None for w in writers):
            await asyncio.sleep(0.05)
        written = sum(p.read_bytes().count(b"\n") for p in paths)
        deadline = time.monotonic() + 10
        while len(latencies) < written and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # every line written is measured, the late ones too
    timeline.close()
    return latencies


def main() -> int:
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    paths = generate(out)
    size_mb = sum(p.stat().st_size for p in paths) / 1e6
    mounted, first, full, rows, arrays = asyncio.run(merge_times(paths))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gc.collect()  # the merge's garbage is not the follow's to pay for
    latencies = sorted(asyncio.run(follow_latency(out)))
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[int(len(latencies) * 0.99)]
    lines_md = [
        MARKER,
        "",
        "Command: `make bench-logs` (runs `bench/bench_logs_view.py` after `bench_logs.py`). "
        f"Sources: 3 x {LINES:,} lines ({size_mb:.0f} MB): a structlog file, a journald JSON "
        "file and a QEMU text log, their times interleaved; the view headless (Textual "
        "run_test, 160x48) in the bench's process.",
        f"Machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}; "
        f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; one run, files in the page cache; "
        f"load average {os.getloadavg()[0]:.1f} (a shared machine: the full merge varies).",
        "",
        "| measure | Workbench | target |",
        "|---|---|---|",
        f"| first screen of the merge (open the files, start the TUI, a screenful of rows "
        "in the view) | "
        f"{first * 1000:.0f} ms, of which {mounted * 1000:.0f} ms until the screen is mounted "
        f"(Textual's start) and {(first - mounted) * 1000:.0f} ms merging and drawing | "
        "< 100 ms (the merge's part) |",
        f"| full merge by time ({rows:,} rows, in the background) | {full:.1f} s "
        f"({rows / full / 1000:.0f}k rows/s) | - |",
        f"| index memory (merged arrays + each source's offsets) | {arrays / 1e6:.0f} MB "
        f"({arrays / max(1, rows):.0f} B/row); peak RSS {peak_mb:.0f} MB | never a source "
        "whole |",
        f"| follow 3 sources at 10,000 lines/s each (write to the row in the view) | p50 "
        f"{p50:.1f} ms, p99 {p99:.1f} ms ({len(latencies):,} lines) | p99 < 100 ms |",
    ]
    text = "\n".join(lines_md) + "\n"
    write_section(MARKER, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
