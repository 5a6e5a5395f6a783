"""Whether a directory is a sosreport, by its content (never its name)."""

from __future__ import annotations

from pathlib import Path

# What every sos 3.x/4.x report's top directory holds; two of them make it a report.
MARKERS = ("sos_commands", "sos_reports", "sos_logs", "version.txt")


def is_report_dir(path: Path) -> bool:
    """Whether `path` is the top directory of an unpacked sosreport: `sos_commands/` and one
    more of its own entries (a `version.txt` that says `sosreport:` counts)."""
    try:
        if not (path / "sos_commands").is_dir():
            return False
        return any((path / m).exists() for m in MARKERS[1:])
    except OSError:
        return False


def report_top(path: Path) -> Path | None:
    """The report's top directory: `path` itself, or its only subdirectory (an archive unpacks
    into `sosreport-HOST-.../`); None when neither is a report."""
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
    """What the archive at `path` holds, by its content: "sos" (a top directory with
    sos_commands/), "capture" (a workbench capture's manifest.json at its root) or "tar"
    (neither). Raises CaptureError for what is no tar archive (empty, zip, zstd, damaged).

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
    top: str | None = None
    read = 0
    try:
        with open_tar(path, mode) as tar:
            for count, member in enumerate(tar, 1):
                parts = [p for p in member.name.split("/") if p and p != "."]
                if len(parts) >= 2 and parts[1] == "sos_commands":
                    return "sos"
                seen_manifest = seen_manifest or parts == ["manifest.json"]
                if parts and top is None:
                    top = parts[0]
                one_top = bool(parts) and parts[0] == top and (len(parts) > 1 or member.isdir())
                if sos_only and not one_top:
                    break
                read += member.size  # read past to reach the next member: bounded, as unpacking
                if count >= members or read > READ_LIMIT:
                    break
    except (tarfile.TarError, EOFError, OSError, ValueError, lzma.LZMAError, zlib.error) as exc:
        raise refuse(path, f"truncated or corrupt archive ({exc})") from exc
    return "capture" if seen_manifest else "tar"
