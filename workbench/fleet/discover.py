"""Paths named to `workbench fleet` -> the machines in them, by content (never by name).

A file is a capture (a tar archive with manifest.json at its root), a sosreport archive, or a
`sos collect` bundle (an outer tarball whose members are sosreport archives, one per node: only
those members are extracted, with the checks of workbench/sos/archive.py, into a private
directory). A directory is a sosreport when it is one, a machine root (`--root`'s: it has sys/
or proc/) when it is one, else it is walked (bounded depth and count). Whatever is no machine
is said in the problems, never passed over in silence.
"""

from __future__ import annotations

import contextlib
import lzma
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from workbench.core.errors import CaptureError, WorkbenchError
from workbench.fleet.model import EntryKind, FleetEntry

MAX_DEPTH = 6  # directories below a named one that are walked
MAX_FILES = 20_000  # entries looked at in all, across every named path
MAX_INNER = 1_000  # sosreports taken from one bundle
INNER_BYTES = 4 * 1024 * 1024 * 1024  # what one bundle's extracted reports may take in all
FLEET_INNER_BYTES = 16 * 1024 * 1024 * 1024  # what every bundle's extracted reports may take
SCAN_MEMBERS = 500_000  # members of an archive looked at to tell what it is
_INNER = re.compile(r"(^|/)sosreport-[^/]*\.tar\.(xz|gz|bz2)$")
_PACKED = re.compile(r"\.tar\.(xz|gz|bz2)$")  # any archive in a bundle: a node's or not
_SUFFIXES = (".tar.gz", ".tar.xz", ".tar.bz2", ".tgz", ".tar")
_NAME_LIMIT = 64
_ROOT_HOSTNAMES = ("proc/sys/kernel/hostname", "etc/hostname")
_CAPTURE_HOSTNAME = "proc/sys/kernel/hostname"
HOSTNAME_SCAN = 2_000  # members of a capture read on from its manifest for its host name
# sos names its archive sosreport-HOST[-CASE]-YYYY-MM-DD-RAND; a case id is a support case's
# number (long): a short number is part of the host's name (compute-01, r640-12)
_SOS_SHAPE = re.compile(r"^sosreport-(?P<host>.+?)(?:-\d{5,})?-\d{4}-\d{2}-\d{2}-[A-Za-z0-9]+$")
Found = list[tuple[str, str, EntryKind, str | None]]  # name, source, kind, within


@dataclass
class _Walk:
    """What one discovery carries along: the machines found, what was passed over, the
    entries left to look at, the files already seen (by real path: a file named twice is
    one), the bytes bundles' reports may still take, where they are extracted."""

    found: Found = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    budget: int = MAX_FILES
    seen: set[str] = field(default_factory=set)
    extract_left: int = field(default_factory=lambda: FLEET_INNER_BYTES)
    workdir: Path | None = None


def discover(
    paths: list[str | Path], workdir: Path | None = None
) -> tuple[list[FleetEntry], list[str]]:
    """The machines in `paths` (files and directories: captures, sosreports as archives or
    directories, `sos collect` bundles), and what was passed over (said, never silent).
    A bundle's reports are extracted into `workdir` (see `fleet_workdir`); without one, a
    bundle is a problem."""
    walk = _Walk(workdir=workdir)
    for given in paths:
        path = Path(given)
        try:
            st = path.stat()
        except OSError as exc:
            walk.problems.append(f"{path}: {exc.strerror or exc}")
            continue
        if stat.S_ISDIR(st.st_mode):
            _directory(path, 0, walk)
        elif stat.S_ISREG(st.st_mode):
            _file(path, walk)
        else:
            walk.problems.append(f"{path}: not a regular file or a directory")
    return _unique(walk.found), walk.problems


@contextlib.contextmanager
def fleet_workdir() -> Iterator[Path]:
    """A private directory for the reports extracted from bundles, removed on exit (on
    Ctrl-C too)."""
    from workbench.capture.unpack import temp_base

    base = temp_base() or tempfile.gettempdir()
    tmp = Path(tempfile.mkdtemp(prefix="workbench-fleet-", dir=base))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _directory(path: Path, depth: int, walk: _Walk) -> None:
    from workbench.sos.detect import is_report_dir

    found, problems = walk.found, walk.problems

    try:
        if is_report_dir(path):
            found.append((_report_dir_name(path), str(path), "sos", None))
            return
    except WorkbenchError as exc:
        problems.append(exc.message)
        return
    if (path / "sys").is_dir() or (path / "proc").is_dir():  # a machine root (--root's)
        name = _recorded_hostname(path, _ROOT_HOSTNAMES) or path.name[:_NAME_LIMIT] or str(path)
        found.append((name, str(path), "root", None))
        return
    if depth >= MAX_DEPTH:
        problems.append(f"{path}: deeper than {MAX_DEPTH} directories, not walked")
        return
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        problems.append(f"{path}: {exc.strerror or exc}")
        return
    for entry in entries:
        if walk.budget <= 0:
            problems.append(f"{path}: more than {MAX_FILES} entries in all, the rest not looked at")
            return
        walk.budget -= 1
        if entry.name.startswith("."):
            continue
        child = Path(entry.path)
        try:
            if entry.is_symlink():
                problems.append(f"{child}: a symbolic link, not followed")
            elif entry.is_dir():
                _directory(child, depth + 1, walk)
            elif entry.is_file():
                if not _is_checksum(child):
                    _file(child, walk)
            else:
                problems.append(f"{child}: not a regular file or a directory")
        except OSError as exc:
            problems.append(f"{child}: {exc.strerror or exc}")


def _is_checksum(path: Path) -> bool:
    """sos's .sha256/.md5 beside its archive: read by the archive's own check, not a machine."""
    return path.name.endswith((".sha256", ".md5")) and path.with_suffix("").is_file()


def _file(path: Path, walk: _Walk) -> None:
    found, problems, workdir = walk.found, walk.problems, walk.workdir
    real = os.path.realpath(path)
    if real in walk.seen:
        return  # named twice (or through a link): one machine, one bundle's nodes once
    walk.seen.add(real)
    left: list[str] = []  # archives in a bundle that are no node's (their names said)
    said: list[str] = []  # what the look at the bundle could not cover
    try:
        kind, inner, hostname = _archive(path, left, said)
    except WorkbenchError as exc:  # the sos wording ("not a usable sosreport: WHY"): ours here
        why = exc.message.rsplit(": not a usable sosreport: ", 1)[-1]
        problems.append(f"{path}: no machine (neither a capture nor a sosreport): {why}")
        return
    if kind in ("capture", "damaged"):  # damaged: its open says why, as the machine's error
        found.append((hostname or _capture_name(path), str(path), "capture", None))
    elif kind == "sos":
        found.append((_sos_name(path.name), str(path), "sos", None))
    elif inner or left:
        if inner and workdir is None:
            problems.append(f"{path}: a `sos collect` bundle, and nowhere to extract it")
            return
        if inner and workdir is not None:
            _bundle(path, inner, walk)
        if left:
            shown = ", ".join(repr(n[:120]) for n in left[:3])
            more = f" and {len(left) - 3} more" if len(left) > 3 else ""
            problems.append(
                f"{path}: {len(left)} archive(s) in the bundle left out (not named "
                f"sosreport-*.tar.*, or an unsafe name): {shown}{more}"
            )
    else:
        problems.append(f"{path}: a tar archive, neither a capture nor a sosreport")
    problems.extend(f"{path}: {what}" for what in said)


def _archive(
    path: Path, left: list[str] | None = None, said: list[str] | None = None
) -> tuple[str, list[str], str | None]:
    """What the archive holds: "capture" (with its recorded host name when it comes early:
    see `_capture_hostname`), "sos", "damaged" (a tar archive that breaks off before any
    sosreport in it: opened as a capture, whose refusal becomes that machine's error), or
    "tar" with the names of the sosreport archives among its members (a bundle; one that
    breaks off keeps those seen). One pass, bounded; CaptureError for what is no tar archive.
    `said`: what the look could not cover (nodes past MAX_INNER, a scan stopped at its limit,
    a bundle that breaks off, a node that is a link: never followed)."""
    notes: list[str] = said if said is not None else []
    from workbench.sos.archive import READ_LIMIT, compression, open_tar
    from workbench.sos.detect import ArchiveLayout

    mode = compression(path)
    shape = ArchiveLayout()
    inner: list[str] = []
    links: list[str] = []  # sosreport-named members that are links: said, never followed
    read = over = count = 0
    try:
        with open_tar(path, mode) as tar:
            for count, member in enumerate(tar, 1):
                parts = shape.see(member)
                if shape.is_report:
                    return "sos", [], None
                if parts == ["manifest.json"] and member.isreg():
                    # at the root: no sosreport (one top directory)
                    return "capture", [], _capture_hostname(tar)
                if _INNER.search(member.name) and (member.issym() or member.islnk()):
                    links.append(member.name)
                elif member.isreg() and _INNER.search(member.name):
                    if len(inner) >= MAX_INNER:
                        over += 1
                    elif _safe_member(member.name):
                        inner.append(member.name)
                    elif left is not None:
                        left.append(member.name)
                elif member.isreg() and _PACKED.search(member.name) and left is not None:
                    left.append(member.name)
                read += member.size
                if count >= SCAN_MEMBERS or read > READ_LIMIT:
                    notes.append(
                        f"looked at its first {count} members ({read} bytes) only: "
                        "nodes after them not taken"
                    )
                    break
    except (tarfile.TarError, EOFError, OSError, ValueError, lzma.LZMAError, zlib.error) as exc:
        if not inner:
            return "damaged", [], None
        notes.append(f"the bundle breaks off after {count} members ({exc}): the nodes before kept")
    if over:
        notes.append(f"{over} sosreport(s) past the first {MAX_INNER} of the bundle not taken")
    if links:
        shown = ", ".join(repr(n[:120]) for n in links[:3])
        notes.append(f"{len(links)} node(s) that are links in the bundle, not followed: {shown}")
    return "tar", inner, None


def _safe_member(name: str) -> bool:
    """Whether a bundle member's name stays inside it (no absolute path, no `..`, no NUL)."""
    parts = name.split("/")
    return not name.startswith("/") and ".." not in parts and "\0" not in name


def _capture_hostname(tar: tarfile.TarFile) -> str | None:
    """The capture's proc/sys/kernel/hostname, read on from manifest.json: a capture's members
    are sorted by name, so it comes before sys/ (the bulk); given up past it or after
    HOSTNAME_SCAN members (then the file's name names the machine)."""
    for _ in range(HOSTNAME_SCAN):
        member = tar.next()
        if member is None or member.name.lstrip("./") > _CAPTURE_HOSTNAME:
            return None
        if member.name.lstrip("./") == _CAPTURE_HOSTNAME and member.isreg() and member.size < 256:
            src = tar.extractfile(member)
            word = src.read(256).decode("utf-8", "replace").strip() if src else ""
            return word[:_NAME_LIMIT] if word and "\n" not in word and _printable(word) else None
    return None


def _printable(word: str) -> bool:
    return all(c.isprintable() for c in word)


def _bundle(path: Path, inner: list[str], walk: _Walk) -> None:
    """Extract the bundle's sosreport archives (and nothing else) into a directory of their
    own under the walk's workdir, each name checked as a sosreport member is; one entry per
    node. Bounded by INNER_BYTES per bundle, FLEET_INNER_BYTES across the fleet and the free
    room of the workdir's filesystem less sos's headroom (a tmpfs is memory): the nodes past
    a bound are said, naming the bundle."""
    from workbench.capture.unpack import check_member_name
    from workbench.sos.archive import CHUNK, compression, open_tar, refuse
    from workbench.sos.archive import _room as room  # sos unpack's free-space rule

    found, problems, workdir = walk.found, walk.problems, walk.workdir
    if workdir is None:
        return  # _file said it: nowhere to extract

    wanted = set(inner)
    into = Path(tempfile.mkdtemp(prefix="bundle-", dir=workdir))
    total = 0
    index = 0
    try:
        with open_tar(path, compression(path)) as tar:
            for member in tar:
                if member.name not in wanted or not member.isreg():
                    continue
                name = check_member_name(path, member.name, refuse, backslash=True)
                total += member.size
                if total > INNER_BYTES:
                    raise refuse(path, f"its sosreports take more than {INNER_BYTES} bytes")
                if member.size > walk.extract_left:
                    raise refuse(
                        path,
                        f"the fleet's bundles' sosreports take more than {FLEET_INNER_BYTES} "
                        f"bytes in all: {base_of(name)} and the nodes after it not taken",
                    )
                if member.size > room(workdir):
                    raise refuse(
                        path,
                        f"{base_of(name)} needs {member.size} bytes, more than is free in "
                        f"{workdir.parent} (less a headroom): it and the nodes after it not taken",
                    )
                walk.extract_left -= member.size
                index += 1
                base = name.rsplit("/", 1)[-1]
                node = into / f"{index:04d}"
                node.mkdir()
                out_path = node / base
                src = tar.extractfile(member)
                if src is None:
                    continue
                fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as out:
                    while block := src.read(CHUNK):
                        out.write(block)
                found.append((_sos_name(base), str(out_path), "sos", str(path)))
    except CaptureError as exc:
        problems.append(exc.message)
    except (tarfile.TarError, EOFError, OSError, ValueError, lzma.LZMAError, zlib.error) as exc:
        problems.append(f"{path}: a `sos collect` bundle that could not be read ({exc})")


def base_of(name: str) -> str:
    """A member's file name (its last part)."""
    return name.rsplit("/", 1)[-1][:200]


def _report_dir_name(path: Path) -> str:
    """An unpacked report's host name: its `hostname` file when it has one (cheap), else the
    directory's name."""
    return _recorded_hostname(path, ("hostname",)) or _sos_name(path.name)


def _recorded_hostname(path: Path, rels: tuple[str, ...]) -> str | None:
    """The first of these files under `path` that holds one line (a host name), bounded."""
    for rel in rels:
        try:
            with open(path / rel, "rb") as fh:  # noqa: PTH123 - bounded read
                word = fh.read(256).decode("utf-8", "replace").strip()
        except OSError:
            continue
        if word and "\n" not in word:
            return word[:_NAME_LIMIT]
    return None


def _sos_name(file_name: str) -> str:
    """`sosreport-HOST[-CASE]-YYYY-MM-DD-RAND.tar.xz` -> HOST (sos's shape); `sosreport-HOST`
    without a date -> HOST; else the name without its suffix."""
    stem = _stem(file_name)
    match = _SOS_SHAPE.match(stem)
    if match:
        return match.group("host")[:_NAME_LIMIT]
    bare = stem.removeprefix("sosreport-")
    return bare if bare and bare != stem else stem


def _capture_name(path: Path) -> str:
    """A capture without a recorded host name: its file's name, except the playbook's
    `captures/HOST/workbench-HOST.tar.gz`, which is the inventory's HOST."""
    stem = _stem(path.name)
    folder = path.parent.name
    return folder[:_NAME_LIMIT] if folder and stem == f"workbench-{folder}"[:_NAME_LIMIT] else stem


def _stem(file_name: str) -> str:
    for suffix in _SUFFIXES:
        if file_name.endswith(suffix) and len(file_name) > len(suffix):
            return file_name[: -len(suffix)][:_NAME_LIMIT]
    return file_name[:_NAME_LIMIT]


def _unique(found: Found) -> list[FleetEntry]:
    """Entries with unique names. Machines whose names clash are each named by its folder when
    the folders tell them apart (Ansible's `captures/<host>/workbench-<host>.tar.gz`); else
    they keep the name, the second and later with `#2`, `#3`... (the table then shows their
    sources). A source named twice is one."""
    sources: set[str] = set()
    kept: Found = []
    for name, source, kind, within in found:
        key = os.path.realpath(source)
        if key not in sources:
            sources.add(key)
            kept.append((name, source, kind, within))
    by_name: dict[str, list[int]] = {}
    for at, (name, _source, _kind, _within) in enumerate(kept):
        by_name.setdefault(name, []).append(at)
    names = [name for name, _source, _kind, _within in kept]
    renamed: list[list[int]] = []
    for places in by_name.values():
        if len(places) < 2 or any(kept[at][3] is not None for at in places):
            continue  # no clash, or a bundle's nodes (their folder is the engine's own)
        folders = [Path(kept[at][1]).parent.name[:_NAME_LIMIT] for at in places]
        if all(folders) and len(set(folders)) == len(folders):
            renamed.append(places)
            for at, folder in zip(places, folders, strict=True):
                names[at] = folder
    changed = True
    while changed:  # a folder's name that clashes with another machine's tells nothing
        changed = False
        counts = Counter(names)
        for places in [p for p in renamed if any(counts[names[at]] > 1 for at in p)]:
            renamed.remove(places)  # every group in the clash: none is told apart by it
            for at in places:
                names[at] = kept[at][0]
            changed = True
    seen: dict[str, int] = {}
    out: list[FleetEntry] = []
    for (_name, source, kind, within), name in zip(kept, names, strict=True):
        unique = name
        if name in seen:
            while unique in seen:
                seen[name] += 1
                unique = f"{name}#{seen[name]}"
        seen.setdefault(unique, 1)
        out.append(FleetEntry(name=unique, source=source, kind=kind, within=within))
    return out
