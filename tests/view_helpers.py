"""Logs for the merged view's tests: a journald JSON file and a QEMU log, interleaved in time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from workbench.ui.view.app import ViewApp
from workbench.ui.view.filesource import FileSource
from workbench.ui.view.timeline import Timeline, unique_labels

T0 = 1764403200  # 2025-11-29T08:00:00Z


def write_logs(tmp: Path, lines: int = 5) -> tuple[Path, Path]:
    """journal.json (even seconds; line 2 is an error, line 3 a warning) and qemu.log (odd
    seconds; its last line a cause the catalogue explains)."""
    journal, qemu = tmp / "journal.json", tmp / "qemu.log"
    with journal.open("w") as f:
        for i in range(lines):
            prio = {2: "3", 3: "4"}.get(i, "6")
            f.write(
                json.dumps(
                    {
                        "__REALTIME_TIMESTAMP": str((T0 + 2 * i) * 1_000_000),
                        "PRIORITY": prio,
                        "SYSLOG_IDENTIFIER": "libvirtd",
                        "MESSAGE": f"journal line {i}",
                    }
                )
                + "\n"
            )
    with qemu.open("w") as f:
        for i in range(lines):
            f.write(
                f"2025-11-29T08:{(2 * i + 1) // 60:02}:{(2 * i + 1) % 60:02}.000000Z "
                f"qemu-system-x86_64: qemu line {i}\n"
            )
        f.write(
            f"2025-11-29T08:{(2 * lines + 1) // 60:02}:{(2 * lines + 1) % 60:02}.000000Z "
            "qemu-system-x86_64: vfio 0000:01:00.0: group 8 is not viable\n"
        )
    return journal, qemu


def make_view(*paths: Path) -> ViewApp:
    names = [str(p) for p in paths]
    sources = [FileSource(p, label) for p, label in zip(names, unique_labels(names), strict=True)]
    return ViewApp(Timeline(sources))


async def merged(pilot: Pilot[Any]) -> None:
    """Wait until the first merge is done and drawn."""
    for _ in range(200):
        screen: Any = pilot.app.screen
        if getattr(screen, "merged", False):
            break
        await pilot.pause(0.05)
    for _ in range(3):
        await pilot.pause(0.05)
