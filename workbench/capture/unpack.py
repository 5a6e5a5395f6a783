"""Opening a capture: into a private temporary directory, removed afterwards, only after every
member is checked, refusing anything that could write outside it or lie about what it holds."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import stat
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from workbench.capture import SCHEMA
from workbench.capture.archive import MANIFEST, sha256
from workbench.capture.dirfd import DirWriter
from workbench.capture.links import MAX_HOPS, stays_inside, too_long_chain
from workbench.capture.sigterm import TerminationGuard
from workbench.core.errors import CaptureError, error_context

NAME_MAX = 255
SHM = "/dev/shm"  # noqa: S108 - only ever holds our private mkdtemp (mode 0700)


@dataclass(frozen=True)
class Limits:
    member_bytes: int = 64 * 1024 * 1024
    total_bytes: int = 1024 * 1024 * 1024
    members: int = 200_000
    depth: int = 128  # path components; /sys paths are under 30 deep


class Refusal(Protocol):
    """How an opener words a refusal (a capture's, a sosreport's): the shared checks below
    take one, so each kind of archive says what it is."""

    def __call__(self, archive: Path, why: str, **details: Any) -> CaptureError: ...


def _refuse(archive: Path, why: str, **details: Any) -> CaptureError:
    return CaptureError(
        f"{archive}: not a usable capture: {why}",
        code="CAPTURE_REFUSED",
        details={"archive": str(archive), **details},
        recoverable=False,
        remedy="Ask for a new capture (`workbench capture -o FILE` on the machine); "
        "this file was damaged or was not made by workbench.",
    )


def _check_name(
    archive: Path, name: str, refuse: Refusal = _refuse, *, backslash: bool = False
) -> str:
    """The member's name, normalised; refused when empty, absolute, with a NUL or `..`. A
    backslash (an ordinary byte of a Linux name) is refused too unless `backslash`: a
    sosreport's systemd unit names hold `\\x2d`; a capture is workbench's own file, and keeps
    the stricter rule."""
    if not name or name.startswith("/") or "\0" in name or (not backslash and "\\" in name):
        raise refuse(archive, f"member {name!r} has an absolute or unsafe path", member=name)
    parts = [p for p in name.split("/") if p and p != "."]
    if not parts or ".." in parts:
        raise refuse(archive, f"member {name!r} leaves the capture's root", member=name)
    return "/".join(parts)


@contextlib.contextmanager
def open_capture(archive: str | os.PathLike[str], limits: Limits = Limits()) -> Iterator[Path]:
    """Unpack `archive` into a private temporary directory and yield that machine root; the
    directory is removed afterwards. Raises CaptureError (nothing written outside the temp dir)
    for anything but a whole, untampered capture."""
    path = Path(archive)
    # The frames mark errors of the opening only, not those of the caller's block.
    with error_context("capture.unpack", "open"):
        if path.is_dir():
            raise CaptureError(
                f"{path}: a directory, not a capture file",
                code="CAPTURE_MISSING",
                details={"archive": str(path)},
                remedy="A capture is the .tar.gz `workbench capture` writes; a directory laid "
                "out like / is read with --root DIR.",
            )
        if not path.is_file():
            raise CaptureError(
                f"{path}: {_not_a_file(path)}",
                code="CAPTURE_MISSING",
                details={"archive": str(path)},
                remedy="Give the path of a .tar.gz made by `workbench capture`.",
            )
    with TerminationGuard() as guard:  # SIGTERM removes the tree too, as Ctrl-C does
        tmp: Path | None = None
        try:
            with error_context("capture.unpack", "open"):
                tmp = Path(tempfile.mkdtemp(prefix="workbench-capture-", dir=_temp_base()))
                root = tmp / "root"
                root.mkdir()
                _unpack(path, root, limits)
            guard.check()  # a signal whose SystemExit got lost while unpacking: stop now
            yield root
        finally:
            with guard.deferred():
                if tmp is not None:
                    shutil.rmtree(tmp, ignore_errors=True)


def _not_a_file(path: Path) -> str:
    """Why `path` is not a capture file, in the words a user needs (its kind, not 'missing')."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "no such capture file" if not path.is_symlink() else "a link to nothing"
    except OSError as exc:  # a link loop, a name too long, no permission on a directory
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISFIFO(mode):
        return "a FIFO, not a capture file (save the capture to a file first)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a capture file"
    return "not a regular file, so not a capture"


def _temp_base() -> str | None:
    """Where captures unpack: $TMPDIR when the operator set it; else the user's runtime dir
    (tmpfs, private to the user), else the system's temp dir. A capture is thousands of small
    files; on a disk each costs a journaled create (0.1-0.6 ms here), in tmpfs ~10 µs."""
    if os.environ.get("TMPDIR"):
        return None
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK | os.X_OK):
        return runtime
    if os.path.isdir(SHM) and os.access(SHM, os.W_OK | os.X_OK):
        return SHM
    return None


def _unpack(archive: Path, root: Path, limits: Limits) -> None:
    try:
        with DirWriter(root) as out:
            _extract(archive, limits, out)
    except CaptureError:
        raise
    except (
        tarfile.TarError,
        EOFError,
        zlib.error,
        gzip.BadGzipFile,
        OSError,
        ValueError,
    ) as exc:
        raise _refuse(archive, f"truncated or corrupt archive ({exc})") from exc


def _extract(archive: Path, limits: Limits, out: DirWriter) -> None:
    """Check each member as it streams by and write files at once (no link exists yet); links
    only once everything is checked, then sparse sizes, then the manifest."""
    names = _Names(archive, limits)
    files: dict[str, str] = {}
    links: dict[str, str] = {}
    total = 0
    manifest_bytes: bytes | None = None
    # A stream ("r|gz"): members are read in order, once, so no seek or tell per member.
    with tarfile.open(archive, mode="r:gz") as tar:
        for count, member in enumerate(tar, 1):
            if count > limits.members:
                raise _refuse(archive, f"more than {limits.members} members")
            name = _check_name(archive, member.name)
            if member.isdir():
                names.add(name, "dir")
                out.mkdir(name)
            elif member.issym():
                names.add(name, "symbolic link")
                _check_link(archive, name, member.linkname, limits)
                links[name] = member.linkname
            elif member.islnk():
                raise _refuse(
                    archive,
                    f"member {name!r} is a hard link (captures hold none)",
                    member=name,
                )
            elif member.isreg():
                names.add(name, "file")
                if member.size > limits.member_bytes:
                    raise _refuse(
                        archive,
                        f"member {name!r} is {member.size} bytes (limit {limits.member_bytes})",
                        member=name,
                    )
                total += member.size
                if total > limits.total_bytes:
                    raise _refuse(archive, f"unpacks to more than {limits.total_bytes} bytes")
                data = _read_member(tar, member)
                if name == MANIFEST:
                    manifest_bytes = data
                    continue
                out.write(name, data)  # no link exists yet, and none is followed
                files[name] = sha256(data)
            else:
                raise _refuse(
                    archive,
                    f"member {name!r} is a device, FIFO or other special file",
                    member=name,
                )
    manifest = _check_manifest(archive, manifest_bytes, files, links)
    chain = too_long_chain(links)
    if chain is not None:
        raise _refuse(
            archive,
            f"symbolic link {chain!r} needs more than {MAX_HOPS} links to resolve "
            "(a chain of links)",
            member=chain,
        )
    # Links last, each in a real directory reached without following any link, so
    # nothing is ever created through one, whatever order the archive chose.
    for name, target in sorted(links.items()):
        out.symlink(name, target)
    for name, size in manifest.get("sparse", {}).items():
        out.truncate(name, int(size))
    out.write(MANIFEST, manifest_bytes or b"")


class _Names:
    """Every member name seen, with its kind, and every directory implied by one: a member
    inside a file or a link is refused whichever of the two comes first in the archive."""

    def __init__(self, archive: Path, limits: Limits, refuse: Refusal = _refuse) -> None:
        self.archive = archive
        self.refuse = refuse
        self.limits = limits
        self.kinds: dict[str, str] = {}
        self.under: dict[str, str] = {}  # implied directory -> the first member inside it

    def add(self, name: str, kind: str) -> None:
        parts = name.split("/")
        if len(parts) > self.limits.depth:
            raise self.refuse(
                self.archive,
                f"member {name[:80]!r}... is {len(parts)} directories deep "
                f"(limit {self.limits.depth})",
            )
        # A UTF-8 character is at most 4 bytes: only a part that long may be over NAME_MAX.
        if len(name) > NAME_MAX // 4 and any(len(os.fsencode(p)) > NAME_MAX for p in parts):
            raise self.refuse(self.archive, f"member {name!r} has a name over {NAME_MAX} bytes")
        if name in self.kinds:
            raise self.refuse(self.archive, f"member {name!r} appears twice", member=name)
        parent = name.rpartition("/")[0]
        # A parent already implied had every prefix checked then; from then on none of those
        # can become a file or a link (that is refused below), so the walk is only needed once.
        for i in range(1, len(parts)) if parent not in self.under else ():
            prefix = "/".join(parts[:i])
            outer = self.kinds.get(prefix)
            if outer not in (None, "dir"):
                raise self._inside(name, prefix, outer or "")
            self.under.setdefault(prefix, name)
        if kind != "dir" and name in self.under:
            raise self._inside(self.under[name], name, kind)
        self.kinds[name] = kind

    def _inside(self, inner: str, outer: str, kind: str) -> CaptureError:
        return self.refuse(
            self.archive, f"member {inner!r} is inside the {kind} {outer!r}", member=inner
        )


def _check_link(
    archive: Path,
    name: str,
    target: str,
    limits: Limits,
    refuse: Refusal = _refuse,
    *,
    backslash: bool = False,
) -> None:
    if not stays_inside(name, target, backslash=backslash):
        raise refuse(
            archive,
            f"symbolic link {name!r} -> {target!r} leaves the capture's root",
            member=name,
        )
    depth = target.count("/") + 1
    if depth > limits.depth:
        raise refuse(
            archive,
            f"symbolic link {name!r} points {depth} directories deep (limit {limits.depth})",
            member=name,
        )


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    fh = tar.extractfile(member)
    if fh is None:
        return b""
    data = fh.read(member.size + 1)
    if len(data) != member.size:
        raise ValueError(f"member {member.name!r} is shorter than its header says")
    return data


def _check_manifest(
    archive: Path, data: bytes | None, files: dict[str, str], links: dict[str, str]
) -> dict[str, Any]:
    if data is None:
        raise _refuse(archive, "no manifest.json")
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise _refuse(archive, f"manifest.json is not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise _refuse(archive, "manifest.json is nested too deeply") from exc
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise _refuse(archive, f"manifest.json is not a {SCHEMA} manifest")
    listed = manifest.get("files")
    listed_links = manifest.get("links", {})
    sparse = manifest.get("sparse", {})
    if (
        not isinstance(listed, dict)
        or not isinstance(listed_links, dict)
        or not isinstance(sparse, dict)
    ):
        raise _refuse(archive, "manifest.json lacks its files, links or sparse tables")
    for name, digest in files.items():
        if name in sparse:
            if digest != sha256(b""):
                raise _refuse(archive, f"{name}: a sparse member with content", member=name)
            continue
        if name not in listed:
            raise _refuse(archive, f"{name}: not listed in manifest.json", member=name)
        if listed[name] != digest:
            raise _refuse(archive, f"{name}: checksum mismatch", member=name)
    missing = sorted(set(listed) - set(files))
    if missing:
        raise _refuse(
            archive, f"{missing[0]}: listed in manifest.json but missing", member=missing[0]
        )
    if links != listed_links:
        raise _refuse(archive, "symbolic links differ from manifest.json")
    for name, size in sparse.items():
        if name not in files or not isinstance(size, int) or not 0 <= size <= 1 << 34:
            raise _refuse(archive, f"{name}: bad sparse entry", member=name)
    return manifest


# The checks a sosreport's archive shares (workbench.sos.archive), each with its own wording.
MemberNames = _Names
check_member_name = _check_name
check_member_link = _check_link
temp_base = _temp_base
