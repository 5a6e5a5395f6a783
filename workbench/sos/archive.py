"""A sosreport archive (.tar.xz, .tar.gz, .tar.bz2), unpacked safely into a private directory."""

from __future__ import annotations

from pathlib import Path

from workbench.core.errors import CaptureError


def unpack_report(archive: Path, into: Path) -> Path:
    """Unpack `archive` into the empty private directory `into`; returns the report's top
    directory. Raises CaptureError (code SOS_REFUSED) for anything that is not a whole
    sosreport, with nothing written outside `into`."""
    raise CaptureError(
        f"{archive}: sosreport archives cannot be opened yet",
        code="SOS_REFUSED",
        details={"archive": str(archive)},
        remedy="Unpack it (`tar xf FILE`) and give the directory.",
    )
