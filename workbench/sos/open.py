"""What the user named as a sosreport (a directory or an archive) -> its machine root."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.errors import CaptureError, error_context

MODULE = "sos.open"
# What a passthrough verdict needs most, and where sos puts it: said in the report's header
# when missing (`sos report -p virt` alone lacks all three).
KEY_FILES = (
    ("lspci -nnvv", ("sos_commands/pci/lspci_-nnvv", "sos_commands/pci/lspci_-nvv")),
    ("the kernel command line", ("proc/cmdline",)),
    ("the kernel log", ("sos_commands/kernel/dmesg",)),
)
HOSTNAME_FILES = ("hostname", "sos_commands/host/hostname", "etc/hostname")
UNAME_FILES = ("uname", "sos_commands/kernel/uname_-a")  # `Linux NODENAME RELEASE ...`
# A hostname as the kernel allows it (never the report's directory name: a --label or a
# --case-id joins the host there, inseparably).
_HOSTNAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,252}$")


@dataclass(frozen=True)
class OpenedReport:
    root: Path  # the machine root made of it (private temp dir)
    report: Path  # the report's top directory (in place, or unpacked in the temp dir)
    manifest: dict[str, Any]


def _refuse(path: Path, why: str, remedy: str, code: str = "SOS_REFUSED") -> CaptureError:
    return CaptureError(
        f"{path}: {why}", code=code, details={"sos": str(path)}, recoverable=False, remedy=remedy
    )


def not_a_report(path: Path) -> CaptureError:
    """The refusal of a directory that is no sosreport."""
    return _refuse(
        path,
        "not a sosreport (no sos_commands/ beside version.txt or sos_reports/)",
        "Give the directory `sos report` made (sosreport-HOST-...), or its archive; a "
        "directory laid out like / is read with --root DIR.",
        code="SOS_NOT_A_REPORT",
    )


def no_space(path: Path, base: str) -> CaptureError:
    """The refusal of a report that does not fit in the temp dir (ENOSPC or EDQUOT)."""
    return _refuse(
        path,
        f"no space left in {base} to open this sosreport (set TMPDIR to a larger directory)",
        f"Free space in {base}, or run with TMPDIR=DIR naming a directory with room for the "
        "unpacked report (up to 4 GiB).",
        code="SOS_NO_SPACE",
    )


def not_a_file(path: Path) -> CaptureError:
    """The refusal of a path that is neither a file nor a directory, in the words a user needs."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        why = "no such sosreport" if not path.is_symlink() else "a link to nothing"
    except OSError as exc:
        why = f"cannot be read ({exc.strerror or exc})"
    else:
        if stat.S_ISFIFO(mode):
            why = "a FIFO, not a sosreport (save the archive to a file first)"
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            why = "a device, not a sosreport"
        else:
            why = "not a regular file or a directory, so not a sosreport"
    return _refuse(
        path,
        why,
        "Give the sosreport's archive (sosreport-*.tar.xz) or its directory.",
        code="SOS_MISSING",
    )


@contextlib.contextmanager
def open_sos(path: str | os.PathLike[str]) -> Iterator[OpenedReport]:
    """The machine root of the sosreport at `path`; everything made for it is removed after
    (on SIGTERM too). A directory is read in place and never written; an archive is unpacked
    first. Raises CaptureError (one line, exit 2 in the CLI) for anything but a sosreport."""
    from workbench.capture.sigterm import TerminationGuard
    from workbench.capture.unpack import temp_base
    from workbench.sos.archive import disk_full, unpack_report
    from workbench.sos.detect import report_top

    given = Path(path)
    with error_context(MODULE, "open"):
        if not given.is_dir() and not given.is_file():
            raise not_a_file(given)
    with TerminationGuard() as guard:
        tmp: Path | None = None
        try:
            with error_context(MODULE, "open"):
                # Where a capture unpacks (tmpfs unless TMPDIR is set): 8 times faster than a
                # disk for a report's thousands of small files (bench_sos_open); bounded by the
                # room left in it (unpack_report), a full one said as such (no_space).
                base = temp_base() or tempfile.gettempdir()
                try:
                    tmp = Path(tempfile.mkdtemp(prefix="workbench-sos-", dir=base))
                    notes: list[str] = []
                    if given.is_dir():
                        top = report_top(given)
                        if top is None:
                            raise not_a_report(given)
                    else:
                        top = unpack_report(given, tmp / "report", notes=notes)
                    root = tmp / "root"
                    root.mkdir()
                    manifest = _translate(top.resolve(), root, given.name, notes)
                except OSError as exc:
                    if disk_full(exc):
                        raise no_space(given, base) from exc
                    raise
            guard.check()
            yield OpenedReport(root, top, manifest)
        finally:
            with guard.deferred():
                if tmp is not None:
                    shutil.rmtree(tmp, ignore_errors=True)


def _translate(top: Path, root: Path, name: str, notes: list[str]) -> dict[str, Any]:
    """build_root, then what the opening learnt joins its manifest: the report's hostname
    (when the builders did not say it) and what unpacking left out."""
    from workbench.sos.translate import build_root

    try:
        manifest = build_root(top, root, name)
    except (OSError, ValueError, UnicodeError, RecursionError) as exc:
        from workbench.sos.archive import disk_full

        if disk_full(exc):  # the temp dir's fault, said by open_sos
            raise
        # A builder met what it did not expect: one line (exit 2), logged whole, never a
        # traceback; what the builders keep going past is in the manifest's `problems`.
        from workbench.core.logging import get_logger

        get_logger("sos").error("sos.translate_failed", report=name, exc_info=exc)
        raise CaptureError(
            f"{name}: this sosreport could not be read as a machine ({type(exc).__name__}: "
            f"{str(exc)[:200]})",
            code="SOS_TRANSLATION",
            details={"sos": name},
            recoverable=False,
            remedy="Report it with the sosreport's layout (`find REPORT -maxdepth 3`); "
            "`workbench explain FILE` still reads its logs one by one.",
        ) from exc
    info = manifest.setdefault("sos", {})
    if isinstance(info, dict) and not info.get("hostname"):
        hostname = report_hostname(top)
        if hostname:
            info["hostname"] = hostname
    if isinstance(info, dict):
        lacks = report_lacks(top)
        if lacks:
            from workbench.sos.model import ASK_FOR

            info["lacks"] = lacks
            info["ask_for"] = ASK_FOR
    # Where every reader of a machine root looks for its name and kernel (the report's header,
    # the TUI's status bar), unless a builder wrote them.
    said = info if isinstance(info, dict) else {}
    for rel, value in (
        ("proc/sys/kernel/hostname", said.get("hostname")),
        ("proc/sys/kernel/osrelease", report_release(top)),
    ):
        if isinstance(value, str) and value and not os.path.lexists(root / rel):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(value + "\n")
    if notes:
        problems = manifest.setdefault("problems", [])
        if isinstance(problems, list):
            problems.extend(notes[:100])
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def report_lacks(top: Path) -> list[str]:
    """Which of the key inputs (lspci, /proc/cmdline, dmesg) the report does not hold."""
    from workbench.core.host import Host

    report = Host(top)
    return [what for what, paths in KEY_FILES if not any(report.try_read(rel)[0] for rel in paths)]


def report_release(top: Path) -> str | None:
    """The kernel release of the report's `uname -a` (`Linux NODE RELEASE ...`), or None."""
    from workbench.core.host import Host

    report = Host(top)
    for rel in UNAME_FILES:
        text, _ = report.try_read(rel)
        words = (text or "").split("\n", 1)[0].split()
        if len(words) > 2 and words[0] == "Linux" and _HOSTNAME.match(words[2]):
            return words[2]
    return None


def report_hostname(top: Path) -> str | None:
    """The machine's name as the report says it: its `hostname` output or /etc/hostname, else
    the node name of its `uname -a`; None when it holds none of them."""
    from workbench.core.host import Host

    report = Host(top)
    for rel in HOSTNAME_FILES + UNAME_FILES:
        text, _ = report.try_read(rel)
        words = (text or "").split("\n", 1)[0].split()
        word = words[1] if rel in UNAME_FILES and len(words) > 1 else words[0] if words else ""
        if rel in UNAME_FILES and (not words or words[0] != "Linux"):
            continue
        if _HOSTNAME.match(word):
            return word
    return None
