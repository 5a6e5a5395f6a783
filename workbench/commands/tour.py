"""`workbench demo --write DIR`: the README tour's files, written where the user can name them:
the demo machine's boot (kernel log) and its failed VM's QEMU log, the demo machine's
sosreport, and the demo fleet's sosreports (built once in the user's cache, as `demo --sos`
and `demo --fleet` build them). The folder is refused when it is no folder, or holds files an
earlier `--write` did not make (`tourdir`)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.commands import tourdir
from workbench.commands.common import usage_error
from workbench.commands.tourdir import Writer, write_all
from workbench.core.text import safe_text

SOS_NAME = "sosreport-demo-workstation.tar.xz"
FLEET_DIR = "fleet"


class WriteTour(argparse.Action):
    """`--write DIR`: the demo verb runs this module instead of opening the workbench."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        namespace.module = "tour"


def _text(lines: list[str]) -> Writer:
    return lambda out: write_all(out, "".join(f"{line}\n" for line in lines).encode())


def write_tour(out: Path, name: str | None = None) -> list[tuple[Path, str]]:
    """Write the tour's files into `out` (made if missing; see `tourdir`); each written path
    with what it is. `name` is how the user wrote `out` (for messages)."""
    from workbench.demo import demo_facts
    from workbench.demo_sos import cached_fleet, cached_sos

    shown = name if name is not None else str(out)
    facts = demo_facts()
    logs = [
        (f"qemu-{vm}.log", list(lines)) for vm, lines in sorted(facts.get("qemu_logs", {}).items())
    ]
    archives = sorted(p for p in cached_fleet().iterdir() if p.name.endswith(".tar.xz"))
    sos = cached_sos()
    written: list[tuple[Path, str]] = []
    with tourdir.opened(out, shown) as fd:
        names = ["kernel.log", *(n for n, _ in logs), SOS_NAME]
        for entry in names:  # checked before anything is written
            tourdir.check_entry(fd, entry, f"{shown}/{entry}")
        tourdir.check_entry(fd, FLEET_DIR, f"{shown}/{FLEET_DIR}", folder=True)
        tourdir.put(fd, "kernel.log", _text(list(facts.get("kernel_log", []))))
        written.append((out / "kernel.log", "the demo machine's boot: its kernel log"))
        for entry, lines in logs:
            tourdir.put(fd, entry, _text(lines))
            vm = entry.removeprefix("qemu-").removesuffix(".log")
            written.append((out / entry, f"{vm}'s QEMU log: why it did not start"))
        tourdir.put(fd, SOS_NAME, tourdir.copy_from(sos))
        written.append((out / SOS_NAME, "the demo machine as a sosreport"))
        with tourdir.subfolder(fd, FLEET_DIR, f"{shown}/{FLEET_DIR}") as fleet:
            for archive in archives:
                tourdir.check_entry(fleet, archive.name, f"{shown}/{FLEET_DIR}/{archive.name}")
                tourdir.put(fleet, archive.name, tourdir.copy_from(archive))
        written.append((out / FLEET_DIR, f"the demo fleet: {len(archives)} machines' sosreports"))
    return written


def run(args: argparse.Namespace) -> int:
    if getattr(args, "demo_sos", False) or getattr(args, "demo_fleet", False):
        return usage_error("demo: --write DIR writes the files; --sos and --fleet open them")
    name = str(args.write_dir)
    try:
        written = write_tour(tourdir.check_name(name), name)
    except tourdir.TourDirError as exc:
        return usage_error(f"demo --write: {exc}")
    except OSError as exc:
        return usage_error(f"demo --write: cannot write into {name}: {exc.strerror or exc}")
    names = [safe_text(str(path)) for path, _ in written]
    width = max(len(name) for name in names)
    for name, (_, what) in zip(names, written, strict=True):
        print(f"{name:<{width}}  {what}")
    return 0
