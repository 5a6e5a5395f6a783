"""Opening a capture: into a private temporary directory, removed afterwards, only after every
member is checked, refusing anything that could write outside it or lie about what it holds."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import posixpath
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.capture import SCHEMA
from workbench.capture.archive import MANIFEST, sha256
from workbench.core.errors import CaptureError

SHM = "/dev/shm"  # noqa: S108 - only ever holds our private mkdtemp (mode 0700)


@dataclass(frozen=True)
class Limits:
    member_bytes: int = 64 * 1024 * 1024
    total_bytes: int = 1024 * 1024 * 1024
    members: int = 200_000


def _refuse(archive: Path, why: str, **details: Any) -> CaptureError:
    return CaptureError(
        f"{archive}: not a usable capture: {why}",
        code="CAPTURE_REFUSED",
        details={"archive": str(archive), **details},
        recoverable=False,
        remedy="Ask for a new capture (`workbench capture -o FILE` on the machine); "
        "this file was damaged or was not made by workbench.",
    )


def _check_name(archive: Path, name: str) -> str:
    if not name or name.startswith("/") or "\\" in name or "\0" in name:
        raise _refuse(archive, f"member {name!r} has an absolute or unsafe path", member=name)
    parts = [p for p in name.split("/") if p and p != "."]
    if not parts or ".." in parts:
        raise _refuse(archive, f"member {name!r} leaves the capture's root", member=name)
    return "/".join(parts)


@contextlib.contextmanager
def open_capture(archive: str | os.PathLike[str], limits: Limits = Limits()) -> Iterator[Path]:
    """Unpack `archive` into a private temporary directory and yield that machine root; the
    directory is removed afterwards. Raises CaptureError (nothing written outside the temp dir)
    for anything but a whole, untampered capture."""
    path = Path(archive)
    if not path.is_file():
        raise CaptureError(
            f"{path}: no such capture file",
            code="CAPTURE_MISSING",
            details={"archive": str(path)},
            remedy="Give the path of a .tar.gz made by `workbench capture`.",
        )
    tmp = Path(tempfile.mkdtemp(prefix="workbench-capture-", dir=_temp_base()))
    try:
        root = tmp / "root"
        root.mkdir()
        _unpack(path, root, limits)
        yield root
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
    files: dict[str, str] = {}
    links: dict[str, str] = {}
    dirs: set[str] = set()
    total = 0
    manifest_bytes: bytes | None = None
    made = _Dirs(root)
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for count, member in enumerate(tar, 1):
                if count > limits.members:
                    raise _refuse(archive, f"more than {limits.members} members")
                name = _check_name(archive, member.name)
                if (
                    name in files
                    or name in links
                    or name in dirs
                    or (name == MANIFEST and manifest_bytes)
                ):
                    raise _refuse(archive, f"member {name!r} appears twice", member=name)
                for prefix in _prefixes(name):
                    if prefix in links:
                        raise _refuse(
                            archive, f"member {name!r} is inside the symbolic link {prefix!r}"
                        )
                    if prefix in files:
                        raise _refuse(archive, f"member {name!r} is inside the file {prefix!r}")
                if member.isdir():
                    dirs.add(name)
                    made.ensure(name)
                elif member.issym():
                    if not _link_stays_inside(name, member.linkname):
                        raise _refuse(
                            archive,
                            f"symbolic link {name!r} -> {member.linkname!r} leaves the capture's "
                            "root",
                            member=name,
                        )
                    links[name] = member.linkname
                elif member.islnk():
                    raise _refuse(
                        archive, f"member {name!r} is a hard link (captures hold none)", member=name
                    )
                elif member.isreg():
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
                    target_path = root / name
                    made.ensure(posixpath.dirname(name))
                    fd = os.open(
                        target_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644
                    )
                    with os.fdopen(fd, "wb") as fh:
                        fh.write(data)
                    files[name] = sha256(data)
                else:
                    raise _refuse(
                        archive,
                        f"member {name!r} is a device, FIFO or other special file",
                        member=name,
                    )
    except CaptureError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError, ValueError) as exc:
        raise _refuse(archive, f"truncated or corrupt archive ({exc})") from exc
    manifest = _check_manifest(archive, manifest_bytes, files, links)
    for name, target in sorted(links.items()):  # links last: nothing is ever written through one
        link = root / name
        made.ensure(posixpath.dirname(name))
        os.symlink(target, link)
    for name, size in manifest.get("sparse", {}).items():
        with open(root / name, "r+b") as fh:
            fh.truncate(int(size))
    (root / MANIFEST).write_bytes(manifest_bytes or b"")


class _Dirs:
    """Directories made under the root so far (each made once, parents first)."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self.made = {""}

    def ensure(self, rel: str) -> None:
        if rel in self.made:
            return
        self.ensure(posixpath.dirname(rel))
        with contextlib.suppress(FileExistsError):
            os.mkdir(f"{self.root}/{rel}", 0o755)
        self.made.add(rel)


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    fh = tar.extractfile(member)
    if fh is None:
        return b""
    data = fh.read(member.size + 1)
    if len(data) != member.size:
        raise ValueError(f"member {member.name!r} is shorter than its header says")
    return data


def _link_stays_inside(name: str, target: str) -> bool:
    """Relative, some `..` first (no more than the link is deep), then names only. The link's
    own directories are real (no member may sit inside a link), so by induction every chain of
    such links ends inside the root, whatever the other links are."""
    if not target or target.startswith("/") or "\\" in target or "\0" in target:
        return False
    parts = target.split("/")
    up = 0
    while up < len(parts) and parts[up] == "..":
        up += 1
    rest = parts[up:]
    if any(p in ("", ".", "..") for p in rest):
        return False
    return up <= name.count("/")


def _prefixes(name: str) -> Iterator[str]:
    parts = name.split("/")
    for i in range(1, len(parts)):
        yield "/".join(parts[:i])


def _check_manifest(
    archive: Path, data: bytes | None, files: dict[str, str], links: dict[str, str]
) -> dict[str, Any]:
    if data is None:
        raise _refuse(archive, "no manifest.json")
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise _refuse(archive, f"manifest.json is not valid JSON ({exc})") from exc
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
