"""The README tour's pictures (docs/*.png): the demo driven headless as the snapshot tests drive
it, each state exported as Textual's SVG, drawn by headless Chromium, cropped to the terminal (its
view box), reduced to 32 colours when pngquant is installed. Run from the repository: .venv/bin/python
scripts/tour_screenshots.py [OUT_DIR] (`make screenshots`); then look at every picture before
committing it. Each picture is a fresh demo at a fixed path and size, so two runs draw the same
screens (only our own log's clock times differ, and they are off-screen)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
VM = "media-server"
# Rich's SVG: the terminal starts at (9, 41) inside the window; one cell is 12.2 x 24.4 px.
LEFT, TOP, CELL_W, CELL_H = 9, 41, 12.2, 24.4

Steps = Callable[[Pilot[Any]], Awaitable[None]]


async def settle(pilot: Pilot[Any], done: Callable[[], bool], timeout_s: float = 20) -> None:
    """Wait for `done`, then for what it caused to be drawn."""
    for _ in range(int(timeout_s / 0.05)):
        if done():
            break
        await pilot.pause(0.05)
    for _ in range(3):
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.1)


def loaded(pilot: Pilot[Any]) -> bool:
    app: Any = pilot.app
    failure = app.virt.failures.get(VM)
    return app.probes.report is not None and failure is not None and bool(failure.failed)


async def overview(pilot: Pilot[Any]) -> None:
    await settle(pilot, lambda: loaded(pilot))


async def vms(pilot: Pilot[Any]) -> None:
    from textual.widgets import DataTable

    await settle(pilot, lambda: loaded(pilot))
    await pilot.press("v")  # the VMs screen; media-server's row is the first
    table = pilot.app.screen.query_one("#domains", DataTable)
    table.move_cursor(row=table.get_row_index(VM))
    await settle(pilot, lambda: True)


async def logs(pilot: Pilot[Any]) -> None:
    from workbench.ui.screens.logpicker import LogPickerScreen
    from workbench.ui.screens.machinelogs import MachineLogsScreen

    app: Any = pilot.app
    await settle(pilot, lambda: loaded(pilot))
    await pilot.press("l")  # the picker: the failed start's logs ticked
    await settle(pilot, lambda: isinstance(app.screen, LogPickerScreen))
    await pilot.press("enter")  # merged by time
    await settle(pilot, lambda: isinstance(app.screen, MachineLogsScreen) and app.screen.merged)
    await pilot.press("slash", *"not viable", "enter")  # search forward: past the end
    await pilot.press("N")  # back to QEMU's error line: the pane names its cause
    # Up a window's height and back: the same line, now near the window's foot, so the window
    # holds QEMU's start and both marked lines, not our own log's clock-timed lines after them.
    await pilot.press(*["up"] * 12)
    await pilot.press(*["down"] * 12)
    await settle(pilot, lambda: True)


async def export(app: App[Any], size: tuple[int, int], steps: Steps) -> str:
    async with app.run_test(size=size) as pilot:
        await steps(pilot)
        return app.export_screenshot()


def to_png(svg: str, size: tuple[int, int], out: Path, work: Path) -> None:
    """The SVG, its view cut to the terminal (no window frame), drawn 1:1 by headless Chromium."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
    cols, rows = size
    width, height = round(cols * CELL_W), round(rows * CELL_H)
    head, rest = svg.split('viewBox="', 1)
    svg = f'{head}viewBox="{LEFT} {TOP} {width} {height}"{rest.split(chr(34), 1)[1]}'
    source = work / f"{out.stem}.svg"
    source.write_text(svg)
    subprocess.run(  # noqa: S603 - our own fixed command line
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--screenshot={out}", f"--window-size={width},{height}", source.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    pngquant = shutil.which("pngquant")
    if pngquant:  # a small palette: a terminal has few colours
        subprocess.run(  # noqa: S603 - our own fixed command line
            [pngquant, "--force", "--skip-if-larger", "--ext", ".png", "32", str(out)],
            check=False,
            timeout=120,
        )


# (name, terminal size, the keys): the sizes hold what the README says each picture shows
# (every VM and both "Why" sections; the logs' status line and the detail pane).
PICTURES: tuple[tuple[str, tuple[int, int], Steps], ...] = (
    ("demo-overview", (120, 27), overview),
    ("demo-vms", (124, 40), vms),
    ("demo-logs", (124, 24), logs),
)


def picture(base: Path, size: tuple[int, int], steps: Steps) -> str:
    """One picture's SVG from a fresh demo, opened as `workbench demo` opens it (the same
    target, log and app factory), at the fixed path the snapshots use (no random name)."""
    from workbench.core.host import Host
    from workbench.core.logging import log_origin
    from workbench.demo import demo_environment
    from workbench.target import Target
    from workbench.ui.app import WorkbenchApp
    from workbench.ui.config import UiConfig

    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    try:
        with demo_environment(base) as env:
            target = Target(Host(env.root), env.uri, "the demo machine", "demo")
            with log_origin(target.label, env.log):  # its records in its own log, as the CLI
                config = UiConfig.from_target(target)
                config.stable = True  # no clock, no version in the picture
                return asyncio.run(export(WorkbenchApp(config), size, steps))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ["XDG_CACHE_HOME"] = str(work / "cache")  # the demo built afresh
        os.environ["XDG_STATE_HOME"] = str(work / "state")  # never the user's log
        os.environ.pop("WORKBENCH_LOG_FILE", None)
        base = Path("/tmp/workbench-ui-demo")  # noqa: S108 - the snapshots' path: no random name
        for name, size, steps in PICTURES:
            to_png(picture(base, size, steps), size, out / f"{name}.png", work)
    for png in sorted(out.glob("demo-*.png")):
        print(f"{png}  {png.stat().st_size // 1024} kB")


if __name__ == "__main__":
    main()
