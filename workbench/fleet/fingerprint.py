"""What a fleet index entry is keyed by: the archive's bytes (`archive_digest`, streamed and
bounded) and the code that judges it (`code_fingerprint`, computed once per run: workbench's
version, the installed probe plugins' names and versions, the size and mtime of every .py
file of the `workbench` and `probes` packages and of their data (the cause catalogue's
catalogue.toml judges too), the pci.ids database, the interpreter)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import stat
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from workbench import __version__
from workbench.core.probe import ENTRY_POINT_GROUP

CHUNK = 1024 * 1024  # bytes read at a time: memory stays at one chunk whatever the archive
HASH_LIMIT = 8 * 1024 * 1024 * 1024  # a larger archive is not indexed (probed afresh)
PACKAGES = ("workbench", "probes")


@dataclass(frozen=True)
class Stamp:
    """Which file was hashed: a file replaced or written since differs in one of these."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> Stamp:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def archive_digest(path: str, limit: int = HASH_LIMIT) -> tuple[str, Stamp] | None:
    """The sha256 of the regular file `path` (read in CHUNK pieces) and its Stamp; None when it
    is no regular file, larger than `limit`, or changed while it was read (it is then probed
    afresh, not indexed). OSError when it cannot be read."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)  # a FIFO never blocks
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode) or before.st_size > limit:
            return None
        digest = hashlib.sha256()
        read = 0
        while block := os.read(fd, CHUNK):
            read += len(block)
            if read > before.st_size:
                return None  # growing while read
            digest.update(block)
        stamp = Stamp.of(os.fstat(fd))
    finally:
        os.close(fd)
    if read != before.st_size or stamp != Stamp.of(before):
        return None
    return digest.hexdigest(), stamp


def unchanged(path: str, stamp: Stamp) -> bool:
    """Whether `path` is still the file that was hashed (so its result may be indexed)."""
    try:
        return Stamp.of(Path(path).stat()) == stamp
    except OSError:
        return False


def code_fingerprint() -> str:
    """A hash of everything that judges a machine besides its archive: change any of it (a
    new version, a plugin installed or upgraded, an edited source file) and every index entry
    is stale."""
    digest = hashlib.sha256()

    def add(*parts: object) -> None:
        digest.update("\0".join(str(p) for p in parts).encode("utf-8", "surrogateescape"))
        digest.update(b"\n")

    add("workbench", __version__, sys.implementation.name, sys.version)
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
        dist = ep.dist
        add("plugin", ep.name, ep.value, dist.name if dist else "", dist.version if dist else "")
    for package in PACKAGES:
        for rel, size, mtime_ns in _sources(package):
            add("source", package, rel, size, mtime_ns)
    from workbench.core.pciids import find_database

    database = find_database()
    if database is not None:
        try:
            st = database.stat()
            add("pci.ids", database, st.st_size, st.st_mtime_ns)
        except OSError as exc:
            add("pci.ids", database, exc.errno)
    return digest.hexdigest()


def _sources(package: str) -> list[tuple[str, int, int]]:
    """(path relative to the package, size, mtime_ns) of each source and data file of
    `package` (not its bytecode), sorted."""
    spec = importlib.util.find_spec(package)
    out: list[tuple[str, int, int]] = []
    for top in (spec.submodule_search_locations or []) if spec else []:
        for here, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in files:
                if name.endswith((".pyc", ".pyo")):
                    continue
                path = Path(here) / name
                try:
                    st = path.stat()
                except OSError:
                    continue
                out.append((str(path.relative_to(top)), st.st_size, st.st_mtime_ns))
    return sorted(out)
