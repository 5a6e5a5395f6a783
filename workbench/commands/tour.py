"""`workbench demo --write DIR`: the README tour's files, written where the user can name them:
the demo machine's boot (kernel log) and its failed VM's QEMU log, the demo machine's
sosreport, and the demo fleet's sosreports (built once in the user's cache, as `demo --sos`
and `demo --fleet` build them)."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from workbench.commands.common import usage_error
from workbench.core.text import safe_text

SOS_NAME = "sosreport-demo-workstation.tar.xz"
FLEET_DIR = "fleet"
Writer = Callable[[Path], object]  # writes one file's content into the path it is given


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


def _put(target: Path, write: Writer) -> None:
    """`write(tmp)` into a temporary file beside `target`, then renamed over it at once: a link
    or a half-written file at `target` is replaced, never written through."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        tmp.chmod(0o644)
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _text(lines: list[str]) -> Writer:
    return lambda tmp: tmp.write_text("".join(f"{line}\n" for line in lines))


def _copy(source: Path) -> Writer:
    return lambda tmp: shutil.copyfile(source, tmp)


def write_tour(out: Path) -> list[tuple[Path, str]]:
    """Write the tour's files into `out` (made if missing); each written path with what it is."""
    from workbench.demo import demo_facts
    from workbench.demo_sos import cached_fleet, cached_sos

    facts = demo_facts()
    out.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, str]] = []
    _put(out / "kernel.log", _text(list(facts.get("kernel_log", []))))
    written.append((out / "kernel.log", "the demo machine's boot: its kernel log"))
    for vm, lines in sorted(facts.get("qemu_logs", {}).items()):
        target = out / f"qemu-{vm}.log"
        _put(target, _text(list(lines)))
        written.append((target, f"{vm}'s QEMU log: why it did not start"))
    _put(out / SOS_NAME, _copy(cached_sos()))
    written.append((out / SOS_NAME, "the demo machine as a sosreport"))
    fleet = out / FLEET_DIR
    fleet.mkdir(exist_ok=True)
    archives = sorted(p for p in cached_fleet().iterdir() if p.name.endswith(".tar.xz"))
    for archive in archives:
        _put(fleet / archive.name, _copy(archive))
    written.append((fleet, f"the demo fleet: {len(archives)} machines' sosreports"))
    return written


def run(args: argparse.Namespace) -> int:
    if getattr(args, "demo_sos", False) or getattr(args, "demo_fleet", False):
        return usage_error("demo: --write DIR writes the files; --sos and --fleet open them")
    out = Path(args.write_dir)
    try:
        written = write_tour(out)
    except OSError as exc:
        return usage_error(f"demo --write: cannot write into {out}: {exc.strerror or exc}")
    names = [safe_text(str(path)) for path, _ in written]
    width = max(len(name) for name in names)
    for name, (_, what) in zip(names, written, strict=True):
        print(f"{name:<{width}}  {what}")
    return 0
