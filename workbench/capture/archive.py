"""Capture archives, written deterministically: members sorted by name, owner root, fixed modes
and times, gzip without a time stamp, so the same machine gives the same bytes for the same
manifest. Opening one safely is `workbench.capture.unpack`."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import posixpath
import stat
import tarfile
import tempfile
from pathlib import Path
from typing import IO, Any

from workbench.capture.tree import Tree
from workbench.core.errors import CaptureError

MANIFEST = "manifest.json"
MTIME = 0


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _unwritable(path: Path, exc: OSError) -> CaptureError:
    return CaptureError(
        f"cannot write {path}: {exc.strerror or exc}",
        code="CAPTURE_UNWRITABLE",
        details={"path": str(path)},
        cause=exc,
        recoverable=True,
        remedy="Write the capture to a directory you can write to, with free space (-o FILE).",
    )


def check_target(path: Path) -> None:
    """Refuse a target that is there and is not a regular file (followed through links): the
    rename into place would replace a device node, a FIFO or a socket (as root, /dev/null)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return  # made new (a dangling link is replaced, its target left alone)
    except OSError as exc:
        raise _unwritable(path, exc) from exc
    if not stat.S_ISREG(mode):
        raise CaptureError(
            f"cannot write {path}: it is not a regular file",
            code="CAPTURE_TARGET",
            details={"path": str(path)},
            remedy="name a new or existing regular file with -o, or -o - for standard output",
        )


def write_archive(
    path: Path | IO[bytes], tree: Tree, manifest: dict[str, Any], sparse: dict[str, int]
) -> dict[str, Any]:
    """Write `tree` and `manifest` (its `files`, `links` and `sparse` filled here) to `path`,
    atomically (a temp file renamed into place), or to an open binary stream."""
    tree = tree.settled()
    settled_sparse = {}
    for rel, size in sparse.items():
        with contextlib.suppress(ValueError):  # under a loop of links: left out
            settled_sparse[tree.real(rel)] = size
    sparse = settled_sparse
    manifest = {
        **manifest,
        "files": {rel: sha256(data) for rel, data in sorted(tree.files.items())},
        "links": dict(sorted(tree.links.items())),
        "sparse": dict(sorted(sparse.items())),
    }
    dirs = set(tree.dirs)
    for name in [*tree.files, *tree.links, *sparse]:
        parent = posixpath.dirname(name)
        while parent:
            dirs.add(parent)
            parent = posixpath.dirname(parent)
    dirs -= set(tree.links)  # a directory reached through a link is the link's target's
    entries: list[tuple[str, str, Any]] = [(d, "dir", None) for d in dirs]
    entries += [(n, "file", d) for n, d in tree.files.items()]
    entries += [(n, "link", t) for n, t in tree.links.items()]
    entries += [(n, "sparse", s) for n, s in sparse.items()]
    entries.append(
        (MANIFEST, "file", (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    )
    if not isinstance(path, Path):
        _write_tar(path, entries)
        path.flush()
        return manifest
    check_target(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise _unwritable(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as raw:
            _write_tar(raw, entries)
        check_target(path)  # again: it may have been made while we collected
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):  # a full disk, a vanished directory
            raise _unwritable(path, exc) from exc
        raise
    return manifest


def _write_tar(raw: IO[bytes], entries: list[tuple[str, str, Any]]) -> None:
    """The entries, sorted by name, as a deterministic tar.gz on `raw`."""
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=MTIME) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name, kind, value in sorted(entries, key=lambda e: e[0]):
            info = tarfile.TarInfo(name)
            info.mtime = MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif kind == "link":
                info.type, info.mode, info.linkname = tarfile.SYMTYPE, 0o777, value
                tar.addfile(info)
            elif kind == "sparse":  # recorded as an empty file; its size is in the manifest
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(b""))
            else:
                info.mode, info.size = 0o644, len(value)
                tar.addfile(info, io.BytesIO(value))
