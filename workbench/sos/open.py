"""What the user named as a sosreport (a directory or an archive) -> its machine root."""

from __future__ import annotations

import contextlib
import os
import shutil
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


@contextlib.contextmanager
def open_sos(path: str | os.PathLike[str]) -> Iterator[OpenedReport]:
    """The machine root of the sosreport at `path`; everything made for it is removed after.
    A directory is read in place and never written; an archive is unpacked first."""
    from workbench.capture.unpack import _temp_base
    from workbench.sos.archive import unpack_report
    from workbench.sos.detect import report_top
    from workbench.sos.translate import build_root

    given = Path(path)
    tmp = Path(tempfile.mkdtemp(prefix="workbench-sos-", dir=_temp_base()))
    try:
        with error_context(MODULE, "open"):
            if given.is_dir():
                top = report_top(given)
                if top is None:
                    raise _refuse(
                        given,
                        "not a sosreport (no sos_commands/ beside version.txt or sos_reports/)",
                        "Give the directory `sos report` made (sosreport-HOST-...), or its "
                        "archive; a directory laid out like / is read with --root DIR.",
                        code="SOS_NOT_A_REPORT",
                    )
            elif given.is_file():
                top = unpack_report(given, tmp / "report")
            else:
                raise _refuse(
                    given,
                    "no such sosreport" if not given.exists() else "not a file or a directory",
                    "Give the sosreport's archive (sosreport-*.tar.xz) or its directory.",
                    code="SOS_MISSING",
                )
            root = tmp / "root"
            root.mkdir()
            manifest = build_root(top.resolve(), root, given.name)
        yield OpenedReport(root, top, manifest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
