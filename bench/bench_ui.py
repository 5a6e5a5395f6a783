"""`make bench-ui`: `workbench demo` in a real pty (tmux): launch to first frame, launch to every
probe result on screen, and how fast appended log lines reach the log view at 10,000 lines/s."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench.bench_probe import cpu_model, write_section  # noqa: E402

WORKBENCH = str(Path(sys.executable).parent / "workbench")
RUNS = int(os.environ.get("BENCH_RUNS", "9"))


def capture(session: str) -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-t", session, "-p"], capture_output=True, text=True, check=False
    ).stdout


def start(env: dict[str, str]) -> tuple[str, float]:
    session = f"bench-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", f"{WORKBENCH} demo"],
        check=True,
        env=env,
    )
    return session, started


def wait(session: str, predicate: object, timeout_s: float = 30) -> float:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        if predicate(capture(session)):  # type: ignore[operator]
            return time.perf_counter()
        time.sleep(0.01)  # each capture is a process: polling harder would slow the app
    raise SystemExit(f"timed out; screen:\n{capture(session)}")


def launch_times(env: dict[str, str]) -> tuple[list[float], list[float]]:
    first, done = [], []
    for _ in range(RUNS):
        session, started = start(env)
        try:
            t_first = wait(session, lambda s: "Workbench" in s)
            t_done = wait(
                session, lambda s: "running…" not in s and "guest.agent" in s and "answer" in s
            )
            first.append(t_first - started)
            done.append(t_done - started)
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], check=False)
            time.sleep(0.3)
    return first, done


def follow_latency(
    env: dict[str, str], log: Path, rate: int = 10_000, seconds: float = 3.0
) -> list[float]:
    """Append `rate` lines/s to the log the view shows; sample the newest number on screen."""
    session, _ = start(env)
    latencies: list[float] = []
    try:
        wait(session, lambda s: "answer" in s)
        subprocess.run(["tmux", "send-keys", "-t", session, "l"], check=True)
        wait(session, lambda s: "following" in s)
        written: dict[int, float] = {}
        total = int(rate * seconds)
        seq_re = re.compile(r"bench (\d+)")
        with log.open("a") as fh:
            start_t = time.perf_counter()
            next_sample = start_t
            i = 0
            while i < total:
                # 10 lines each millisecond (10,000 lines/s), then sleep: the writer must not
                # take a core from the app it measures.
                due = start_t + i / rate
                now = time.perf_counter()
                if now < due:
                    time.sleep(min(0.001, due - now))
                    continue
                for _ in range(10):
                    fh.write(
                        json.dumps({"level": "info", "event": f"bench {i}", "logger": "bench"})
                        + "\n"
                    )
                    written[i] = time.perf_counter()
                    i += 1
                fh.flush()
                if now >= next_sample:
                    next_sample = now + 0.02
                    seen = [int(x) for x in seq_re.findall(capture(session))]
                    if seen and max(seen) in written:
                        latencies.append((time.perf_counter() - written[max(seen)]) * 1000)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)
    return latencies


def main() -> int:
    if shutil.which("tmux") is None:
        raise SystemExit("bench-ui needs tmux")
    work = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    log = work / "workbench.log"
    env = {**os.environ, "WORKBENCH_LOG_FILE": str(log), "TERM": "xterm-256color"}
    first, done = launch_times(env)
    latencies = sorted(follow_latency(env, log))
    shutil.rmtree(work, ignore_errors=True)
    keys, _ = keys_under_flood()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[int(len(latencies) * 0.99)]
    lines = [
        "## `workbench demo` UI (issue 5)",
        "",
        "Command: `make bench-ui` (runs `bench/bench_ui.py`): `workbench demo` in a tmux pty "
        f"(120x40), screen polled every 10 ms (launch) and 20 ms (log); {RUNS} launches, medians.",
        f"Machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}; "
        f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| launch to first frame | {statistics.median(first) * 1000:.0f} ms (max "
        f"{max(first) * 1000:.0f}) | < 500 ms |",
        f"| launch to every probe result on screen | {statistics.median(done) * 1000:.0f} ms "
        f"(max {max(done) * 1000:.0f}) | < 1000 ms |",
        f"| log view, write to screen at 10,000 lines/s | p50 {p50:.0f} ms, p99 {p99:.0f} ms "
        f"({len(latencies)} samples of the newest line shown) | p99 < 100 ms (toolong 576 ms) |",
        f"| keys while 1,000 VM transitions/s arrive (screen switch, in-process Pilot) | p50 "
        f"{keys[len(keys) // 2]:.0f} ms, p99 {keys[int(len(keys) * 0.99)]:.0f} ms "
        f"({len(keys)} switches) | stays responsive |",
        "",
        "The latency includes tmux redrawing its pane and `capture-pane` (a few ms each).",
        "",
        "What moved these numbers (2026-11-22, from 549 ms first frame and a 119 ms log p99): "
        "`make setup` compiles our bytecode (this sandbox sets PYTHONDONTWRITEBYTECODE, so "
        "every start compiled 63 modules, ~50 ms); the probe thread starts after the first frame "
        "(it took the GIL from the first render); after start-up the CLI's app calls "
        "`gc.freeze()` (full collections walked every start-up object, 45-60 ms pauses every "
        "~0.6 s while following the flood; found with a slow-callback and `gc.callbacks` trace).",
    ]
    text = "\n".join(lines) + "\n"
    write_section("## `workbench demo` UI (issue 5)", text)
    print(text)
    return 0


async def _keys_under_flood(root: Path, rate: int, seconds: float) -> list[float]:
    """Switch screens with keys while `rate` VM transitions a second arrive; key-to-screen ms."""
    import asyncio
    import threading

    from textual import events

    from workbench.core.lifecycle import Transition
    from workbench.ui.app import WorkbenchApp
    from workbench.ui.config import UiConfig
    from workbench.ui.messages import VmTransition

    app = WorkbenchApp(UiConfig(root=str(root), stable=True))
    stop = threading.Event()
    sent = [0]

    def flood() -> None:
        states = ("running", "paused")
        start = time.perf_counter()
        while not stop.is_set():
            due = start + sent[0] / rate
            if time.perf_counter() < due:
                time.sleep(0.0005)
                continue
            n = sent[0]
            app.post_message(
                VmTransition(
                    Transition(
                        "2026-11-22T00:00:00Z",
                        f"vm{n % 20}",
                        states[n % 2],
                        states[(n + 1) % 2],
                        "event",
                        "flood",
                    )
                )
            )
            sent[0] += 1

    timings: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        while app.probes.report is None:
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        thread = threading.Thread(target=flood, daemon=True)
        thread.start()
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            for key, screen in (("v", "VmsScreen"), ("o", "OverviewScreen")):
                t0 = time.perf_counter()
                # A key as the terminal sends it (pilot.press would wait for an idle app, which
                # under a flood never comes).
                app.post_message(events.Key(key, key))
                while type(app.screen).__name__ != screen:  # noqa: ASYNC110 - polling the UI
                    await asyncio.sleep(0.001)
                timings.append((time.perf_counter() - t0) * 1000)
                await asyncio.sleep(0.05)
        stop.set()
    return timings


def keys_under_flood(rate: int = 1000, seconds: float = 5.0) -> tuple[list[float], float]:
    import asyncio

    from workbench.demo import demo_environment

    with demo_environment(with_agent=False) as env:
        start = time.perf_counter()
        timings = asyncio.run(_keys_under_flood(env.root, rate, seconds))
        return sorted(timings), time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
