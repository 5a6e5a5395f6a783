"""What the user named as a sosreport (a directory or an archive) -> its machine root."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.errors import CaptureError, error_context

MODULE = "sos.open"


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
        "not a sosreport (no sos_commands/ with version.txt, sos_reports/, sos_logs/ or a "
        "plugin's directory)",
        "Give the directory `sos report` made (sosreport-HOST-...), or its archive; a "
        "directory laid out like / is read with --root DIR.",
        code="SOS_NOT_A_REPORT",
    )


def permission_denied(path: Path) -> CaptureError:
    """The refusal of a report (or a part of it) this user may not read: never "not a
    sosreport", which it may well be."""
    return _refuse(
        path,
        "permission denied: this user cannot read it, so whether it is a sosreport is unknown",
        "Run workbench as root (sosreports are usually root's, mode 0600/0700), or make it "
        "readable to this user (`chmod -R u+rX PATH` by its owner).",
        code="SOS_UNREADABLE",
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
    """build_root, then what unpacking left out joins its manifest."""
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
    if notes:
        problems = manifest.setdefault("problems", [])
        if isinstance(problems, list):
            problems.extend(notes[:100])
        (root / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest
