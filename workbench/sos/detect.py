"""Whether a directory is a sosreport, by its content (never its name)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

# Beside sos_commands/, what every sos 3.x/4.x report's top directory holds; one of them (or a
# plugin's directory in sos_commands/) makes it a report.
MARKERS = ("version.txt", "sos_reports", "sos_logs")
if TYPE_CHECKING:
    import tarfile

MAX_SCAN = 4096  # entries of sos_commands/ looked at for a plugin's directory


@dataclass
class Layout:
    """What of a report's top directory has been seen, path by path (a directory's entries or
    an archive's members): the one rule of what a sosreport is. It is one when sos_commands/
    is a directory and there is at least one of version.txt, sos_reports/, sos_logs/ or a
    plugin's directory sos_commands/PLUGIN/ (what is in them is never read here)."""

    commands: bool = False  # sos_commands/ is a directory
    marker: bool = False  # one of the others

    def see(self, parts: Sequence[str], is_dir: bool) -> None:
        """One path below the top (its components) and whether it is a directory; a path
        below a directory implies the directory."""
        if not parts:
            return
        head, deeper = parts[0], len(parts) > 1
        if head == "sos_commands":
            self.commands = self.commands or deeper or is_dir
            self.marker = self.marker or len(parts) > 2 or (deeper and is_dir)
        elif head == "version.txt":
            self.marker = self.marker or (not deeper and not is_dir)
        elif head in MARKERS:
            self.marker = self.marker or deeper or is_dir

    @property
    def is_report(self) -> bool:
        """Whether what was seen makes a sosreport (see the class)."""
        return self.commands and self.marker


@dataclass
class ArchiveLayout:
    """An archive's members, one by one, against Layout's rule: the first member's top-level
    name is the report's top directory (an archive of more tops is no sosreport), and what
    is below it is seen by its Layout. The one reading of a tar archive's shape, for
    `archive_kind` and the fleet's discovery."""

    top: str | None = None
    layout: Layout = field(default_factory=Layout)

    def see(self, member: tarfile.TarInfo) -> list[str]:
        """Take one member; its name's components (`.` and empty ones dropped)."""
        parts = [p for p in member.name.split("/") if p and p != "."]
        self.top = parts[0] if self.top is None and parts else self.top
        if len(parts) >= 2 and parts[0] == self.top:
            self.layout.see(parts[1:], member.isdir())
        return parts

    @property
    def is_report(self) -> bool:
        return self.layout.is_report


def is_report_dir(path: Path) -> bool:
    """Whether `path` is the top directory of an unpacked sosreport (see Layout). Raises
    CaptureError (SOS_UNREADABLE) when this user may not read what decides it."""
    from workbench.sos.open import permission_denied

    if path.is_dir() and not os.access(path, os.R_OK | os.X_OK):
        raise permission_denied(path)
    layout = Layout()
    try:
        commands = path / "sos_commands"
        if not commands.is_dir():
            return False
        layout.see(["sos_commands"], True)
        for name in MARKERS:
            if (path / name).exists():
                layout.see([name], (path / name).is_dir())
        if not layout.is_report:
            for entry in itertools.islice(commands.iterdir(), MAX_SCAN):
                layout.see(["sos_commands", entry.name], entry.is_dir())
                if layout.is_report:
                    break
    except PermissionError as exc:
        raise permission_denied(Path(exc.filename or path)) from exc
    except OSError:
        return False
    return layout.is_report


def report_top(path: Path) -> Path | None:
    """The report's top directory: `path` itself, or its only subdirectory (an archive unpacks
    into `sosreport-HOST-.../`); None when neither is a report. Raises CaptureError
    (SOS_UNREADABLE) for either that this user may not read."""
    if is_report_dir(path):
        return path
    try:
        entries = [e for e in path.iterdir() if not e.name.startswith(".")]
    except OSError:
        return None
    dirs = [e for e in entries if e.is_dir() and not e.is_symlink()]
    if len(dirs) == 1 and is_report_dir(dirs[0]):
        return dirs[0]
    return None


def archive_kind(path: Path, members: int = 500_000, *, sos_only: bool = False) -> str:
    """What the archive at `path` holds, by its content: "sos" (a top directory that is a
    sosreport by Layout's rule, as unpacking checks it), "capture" (a workbench capture's
    manifest.json at its root) or "tar" (neither). Raises CaptureError for what is no tar
    archive (empty, zip, zstd, damaged).

    `sos_only`: stop as soon as it cannot be a sosreport (an entry beside the first top-level
    one; sos packs one top directory), so a capture is not decompressed whole just to be told
    from a report; the answer is then "tar" unless a root manifest.json came first (a
    capture writes it last)."""
    import lzma
    import tarfile
    import zlib

    from workbench.sos.archive import READ_LIMIT, compression, open_tar, refuse

    mode = compression(path)
    seen_manifest = False
    shape = ArchiveLayout()
    read = 0
    try:
        with open_tar(path, mode) as tar:
            for count, member in enumerate(tar, 1):
                parts = shape.see(member)
                if shape.is_report:
                    return "sos"
                seen_manifest = seen_manifest or parts == ["manifest.json"]
                top = shape.top
                one_top = bool(parts) and parts[0] == top and (len(parts) > 1 or member.isdir())
                if sos_only and not one_top:
                    break
                read += member.size  # read past to reach the next member: bounded, as unpacking
                if count >= members or read > READ_LIMIT:
                    break
    except (tarfile.TarError, EOFError, OSError, ValueError, lzma.LZMAError, zlib.error) as exc:
        raise refuse(path, f"truncated or corrupt archive ({exc})") from exc
    return "capture" if seen_manifest else "tar"
