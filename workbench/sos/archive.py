"""A sosreport archive (.tar.xz, .tar.gz, .tar.bz2), unpacked safely into a private directory.

The same checks as a capture's (workbench.capture.unpack, whose machinery this reuses): no
member or link leaves the tree, no absolute name or `..`, no member inside a file or a link,
limits on names, depth, count and size, links written last through a writer that never follows
one. What differs is what a sosreport legitimately holds: one top directory, links between its
own files (`lspci` -> sos_commands/pci/..., `.tailed` logs -> sos_strings/), and logs larger
than any capture member: a member over the limit keeps its last `member_bytes` (a capped tail,
said in `notes`), it is never read whole into memory. A backslash is an ordinary byte of a name
(systemd's `system-systemd\\x2dcryptsetup.slice`), and a link must stay inside the report's top
directory (what reads the report is confined to it), not merely inside the temp dir.
"""

from __future__ import annotations

import bz2
import contextlib
import errno
import gzip
import hashlib
import io
import lzma
import os
import re
import stat
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from workbench.capture.dirfd import DirWriter
from workbench.capture.links import MAX_HOPS, too_long_chain
from workbench.capture.unpack import Limits, MemberNames, check_member_link, check_member_name
from workbench.core.errors import CaptureError

# A sosreport's logs may be large (journals, sos_strings): a member over 64 MiB keeps its tail.
SOS_LIMITS = Limits(
    member_bytes=64 * 1024 * 1024, total_bytes=4 * 1024 * 1024 * 1024, members=500_000
)
CHUNK = 1024 * 1024
HEADROOM = 64 * 1024 * 1024  # left free in the temp dir's filesystem, at most a tenth of it
# What is decompressed in all (heads of large logs included, though not kept): a bound on time
# (xz decompresses ~100-200 MB/s here) against a small archive that inflates without end.
READ_LIMIT = 16 * 1024 * 1024 * 1024
# Recognised by their first bytes, never by the file's name.
Compression = Literal["xz", "gz", "bz2", "tar"]  # "tar": none
COMPRESSIONS: tuple[tuple[bytes, Compression], ...] = (
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x1f\x8b", "gz"),
    (b"BZh", "bz2"),
)
REFUSED = (
    (b"PK\x03\x04", "a zip archive"),
    (b"(\xb5/\xfd", "a zstd-compressed archive"),
    (b"7z\xbc\xaf'\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    # `sos report --encrypt-pass/--encrypt-key` writes the archive through gpg.
    (b"-----BEGIN PGP MESSAGE", "a GPG-encrypted archive (decrypt it with `gpg -d` first)"),
    (b"\x8c\x0d", "a GPG-encrypted archive (decrypt it with `gpg -d` first)"),
)
# The reports a `sos collect` bundle holds, one archive per node.
_INNER_REPORT = re.compile(r"(^|/)sosreport-[^/]*\.tar\.(xz|gz|bz2)$")
DIGESTS = (("sha256", 64), ("md5", 32))  # the checksum files sos writes beside its archive
SOS_REMEDY = (
    "Give the archive `sos report` wrote (sosreport-HOST-...-DATE-RAND.tar.xz, or .tar.gz), "
    "whole; repack a zip or zstd as .tar.xz (`tar xf` then `tar cJf`)."
)


CHECKSUM_REMEDY = (
    "The archive was damaged in transfer or altered after sos wrote it: ask the customer for "
    "it again, or compare `sha256sum ARCHIVE` (or `md5sum`) with the .sha256/.md5 they sent."
)


def refuse(
    archive: Path, why: str, code: str = "SOS_REFUSED", remedy: str = SOS_REMEDY, **details: Any
) -> CaptureError:
    """The refusal of a sosreport archive (the shared checks word a capture's root: here, the
    report's)."""
    why = why.replace("the capture's root", "the report's directory")
    return CaptureError(
        f"{archive}: not a usable sosreport: {why}",
        code=code,
        details={"archive": str(archive), **details},
        recoverable=False,
        remedy=remedy,
    )


def compression(archive: Path) -> Compression:
    """The compression of `archive` ("xz", "gz", "bz2", "tar" for none), by its
    first bytes; raises CaptureError for anything else, saying what it is when known."""
    from workbench.sos.open import permission_denied

    try:
        with archive.open("rb") as fh:
            head = fh.read(512)
    except PermissionError as exc:
        raise permission_denied(archive) from exc
    if not head:
        raise refuse(archive, "an empty file", code="SOS_NOT_A_REPORT")
    for magic, mode in COMPRESSIONS:
        if head.startswith(magic):
            return mode
    for magic, what in REFUSED:
        if head.startswith(magic):
            raise refuse(
                archive, f"{what}; only tar archives (.tar.xz, .tar.gz, .tar.bz2) are read"
            )
    if len(head) == 512 and head[257:262] == b"ustar":
        return "tar"
    raise refuse(
        archive,
        "not a tar archive (.tar.xz, .tar.gz or .tar.bz2)",
        code="SOS_NOT_A_REPORT",
    )


@contextlib.contextmanager
def open_tar(archive: Path, kind: Compression) -> Iterator[tarfile.TarFile]:
    """The archive as one pass over its members (no seek, no member list kept), decompressed
    by the compression module's own buffered reader (2.5 times faster than tarfile's stream
    decompression on a sosreport's many small members)."""
    with _decompressed(archive, kind) as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
        yield tar


def _decompressed(archive: Path, kind: Compression) -> io.BufferedIOBase:
    if kind == "xz":
        return lzma.LZMAFile(archive)
    if kind == "gz":
        return gzip.GzipFile(archive)
    if kind == "bz2":
        return bz2.BZ2File(archive)
    return archive.open("rb")


def check_digest(archive: Path) -> str | None:
    """Check the `.sha256` (or `.md5`) file beside `archive` when there is one; the kind
    checked, None when there is none. A mismatch or an unreadable checksum file is refused."""
    for kind, length in DIGESTS:
        side = archive.with_name(archive.name + "." + kind)
        try:
            if not stat.S_ISREG(side.stat().st_mode):  # never opened: a FIFO would block
                raise refuse(
                    archive,
                    f"{side.name} beside it is not a regular file (a FIFO, a device or a "
                    "directory), so the archive cannot be checked",
                    code="SOS_CHECKSUM",
                    remedy="Move the checksum file aside to open the archive unchecked, or put "
                    "the checksum the customer sent there.",
                )
            with side.open("rb") as fh:
                text = fh.read(4096).decode("ascii", "replace")
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:  # there, but unread: the archive is not known to be whole
            raise refuse(
                archive,
                f"{side.name} beside it cannot be read ({exc.strerror or exc})",
                code="SOS_CHECKSUM",
                remedy="Make the checksum file readable (or run as root), or move it aside to "
                "open the archive unchecked.",
            ) from exc
        words = text.split()
        expected = words[0].lower() if words else ""
        if len(expected) != length or any(c not in "0123456789abcdef" for c in expected):
            raise refuse(archive, f"{side.name} beside it holds no {kind} checksum")
        digest = hashlib.new(kind, usedforsecurity=False)  # a transfer check (FIPS: md5 too)
        with archive.open("rb") as fh:
            while block := fh.read(CHUNK):
                digest.update(block)
        if digest.hexdigest() != expected:
            raise refuse(
                archive,
                f"its {kind} checksum does not match {side.name} (a damaged or partial copy)",
                code="SOS_CHECKSUM",
                remedy=CHECKSUM_REMEDY,
            )
        return kind
    return None


def unpack_report(
    archive: Path, into: Path, limits: Limits = SOS_LIMITS, notes: list[str] | None = None
) -> Path:
    """Unpack `archive` into the empty private directory `into`; returns the report's top
    directory. Raises CaptureError (code SOS_REFUSED, SOS_CHECKSUM or SOS_NOT_A_REPORT) for
    anything that is not a whole sosreport, with nothing written outside `into`; an OSError
    for a full disk or quota (`disk_full`). What was left out or cut (devices, FIFOs, a log's
    head) is said in `notes`."""
    said = notes if notes is not None else []
    mode = compression(archive)
    check_digest(archive)
    into.mkdir(parents=True, exist_ok=True)
    try:
        room = _room(into)
        with DirWriter(into) as out:
            top = _extract(archive, mode, limits, out, said, room)
    except CaptureError:
        raise
    except (
        tarfile.TarError,
        EOFError,
        zlib.error,
        gzip.BadGzipFile,
        lzma.LZMAError,
        OSError,
        ValueError,
    ) as exc:
        if disk_full(exc):  # the disk's fault, not the archive's: open_sos names the directory
            raise
        raise refuse(archive, f"truncated or corrupt archive ({exc})") from exc
    return into / top


def _room(into: Path) -> int:
    """The bytes `into` may take: its filesystem's free space less a headroom (a tmpfs filled
    to the last byte fails every other program's shared memory too)."""
    fs = os.statvfs(into)
    return fs.f_bavail * fs.f_frsize - min(HEADROOM, fs.f_blocks * fs.f_frsize // 10)


def disk_full(exc: BaseException) -> bool:
    """Whether `exc` is a write that failed for want of space or quota (ENOSPC, EDQUOT)."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _extract(
    archive: Path, mode: Compression, limits: Limits, out: DirWriter, notes: list[str], room: int
) -> str:
    """Check each member as it streams by and write files at once; hard links (copies of a
    file already written) and symbolic links once everything is checked. The top directory.
    Past `room` bytes, an OSError(ENOSPC) before the filesystem is full."""
    names = MemberNames(archive, limits, refuse)
    symlinks: dict[str, str] = {}
    hardlinks: dict[str, str] = {}
    kept: dict[str, int] = {}  # bytes written of each file: a hard link's copy counts again
    total = read = 0
    top: str | None = None
    with open_tar(archive, mode) as tar:
        for count, member in enumerate(tar, 1):
            if count > limits.members:
                raise refuse(archive, f"more than {limits.members} members")
            name = check_member_name(archive, member.name, refuse, backslash=True)
            first = name.split("/", 1)[0]
            if top is None:
                top = first
            elif first != top:
                raise refuse(archive, f"more than one top directory ({top!r}, {first!r})")
            if name == top and not member.isdir():
                raise refuse(archive, f"its top {name!r} is not a directory")
            if member.isdir():
                names.add(name, "dir")
                out.mkdir(name)
            elif member.issym():
                names.add(name, "symbolic link")
                # Inside the top directory (never merely inside the temp dir): what it is read
                # through (a Host confined to the top) would drop a link that leaves it.
                below = name.split("/", 1)[1]
                check_member_link(archive, below, member.linkname, limits, refuse, backslash=True)
                symlinks[name] = member.linkname
            elif member.islnk():
                target = check_member_name(archive, member.linkname, refuse, backslash=True)
                if names.kinds.get(target) != "file":
                    raise refuse(archive, f"hard link {name!r} -> {target!r}: not a file before it")
                names.add(name, "file")
                hardlinks[name] = target
                kept[name] = kept.get(target, 0)
                total += kept[name]
            elif member.isreg():
                names.add(name, "file")
                kept[name] = min(member.size, limits.member_bytes)
                total += kept[name]
                read += member.size
                if read > READ_LIMIT:
                    raise refuse(archive, f"decompresses to more than {READ_LIMIT} bytes")
                if total <= min(limits.total_bytes, room):
                    out.write_chunks(name, _tail(tar, member, limits.member_bytes, notes))
            else:  # a device or a FIFO: nothing a reader of the report needs
                notes.append(f"{name}: a device or FIFO in the archive, left out")
            if total > limits.total_bytes:
                raise refuse(archive, f"unpacks to more than {limits.total_bytes} bytes")
            if total > room:
                raise OSError(errno.ENOSPC, "it needs more room than is free", name)
    if top is None:
        raise refuse(archive, "an empty tar archive", code="SOS_NOT_A_REPORT")
    if not _is_report(top, names.kinds):
        inner = [n for n, kind in names.kinds.items() if kind == "file" and _INNER_REPORT.search(n)]
        if inner:
            raise refuse(
                archive,
                f"a `sos collect` bundle of {len(inner)} sosreport(s) ({inner[0]!r}, ...): "
                "unpack it and give each sosreport",
                code="SOS_NOT_A_REPORT",
            )
        raise refuse(
            archive,
            f"its top directory {top!r} has no sos_commands/ with version.txt, sos_reports/, "
            "sos_logs/ or a plugin's directory: a tar archive, not a sosreport",
            code="SOS_NOT_A_REPORT",
        )
    chain = too_long_chain(symlinks)
    if chain is not None:
        raise refuse(archive, f"symbolic link {chain!r} needs more than {MAX_HOPS} links")
    for name, target in sorted(hardlinks.items()):
        out.write(name, _read_written(out, target, limits.member_bytes))
    for name, target in sorted(symlinks.items()):
        out.symlink(name, target)
    return top


def _is_report(top: str, kinds: dict[str, str]) -> bool:
    """Whether the members under `top` make a sosreport (detect.Layout: the one rule)."""
    from workbench.sos.detect import Layout

    layout = Layout()
    for name, kind in kinds.items():
        parts = name.split("/")
        if parts[0] == top:
            layout.see(parts[1:], kind == "dir")
    return layout.is_report


def _tail(
    tar: tarfile.TarFile, member: tarfile.TarInfo, cap: int, notes: list[str]
) -> Iterator[bytes]:
    """The member's bytes by chunks; over `cap`, only its last `cap` (its head is read past,
    never kept): memory stays at one chunk whatever the member's size."""
    fh = tar.extractfile(member)
    if fh is None:
        return
    skip = max(0, member.size - cap)
    left = member.size - skip
    while skip:
        block = fh.read(min(CHUNK, skip))
        if not block:
            raise ValueError(f"member {member.name!r} is shorter than its header says")
        skip -= len(block)
    if member.size > cap:
        notes.append(f"{member.name}: {member.size} bytes, only its last {cap} kept")
    while left:
        block = fh.read(min(CHUNK, left))
        if not block:
            raise ValueError(f"member {member.name!r} is shorter than its header says")
        left -= len(block)
        yield block


def _read_written(out: DirWriter, rel: str, cap: int) -> bytes:
    """A file already unpacked (a hard link's target), read without following any link."""
    parent, _, name = rel.rpartition("/")
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=out.mkdir(parent))
    with os.fdopen(fd, "rb") as fh:
        return fh.read(cap)
