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
from pathlib import Path

from workbench.core.errors import CaptureError, WorkbenchError
from workbench.fleet.model import EntryKind, FleetEntry

MAX_DEPTH = 6  # directories below a named one that are walked
MAX_FILES = 20_000  # entries looked at in all, across every named path
MAX_INNER = 1_000  # sosreports taken from one bundle
INNER_BYTES = 4 * 1024 * 1024 * 1024  # what one bundle's extracted reports may take in all
SCAN_MEMBERS = 500_000  # members of an archive looked at to tell what it is
_INNER = re.compile(r"(^|/)sosreport-[^/]*\.tar\.(xz|gz|bz2)$")
_PACKED = re.compile(r"\.tar\.(xz|gz|bz2)$")  # any archive in a bundle: a node's or not
_SUFFIXES = (".tar.gz", ".tar.xz", ".tar.bz2", ".tgz", ".tar")
_NAME_LIMIT = 64
_ROOT_HOSTNAMES = ("proc/sys/kernel/hostname", "etc/hostname")
_CAPTURE_HOSTNAME = "proc/sys/kernel/hostname"
HOSTNAME_SCAN = 2_000  # members of a capture read on from its manifest for its host name
_SOS_SHAPE = re.compile(r"^sosreport-(?P<host>.+?)(?:-\d+)?-\d{4}-\d{2}-\d{2}-[A-Za-z0-9]+$")


def discover(
    paths: list[str | Path], workdir: Path | None = None
) -> tuple[list[FleetEntry], list[str]]:
    """The machines in `paths` (files and directories: captures, sosreports as archives or
    directories, `sos collect` bundles), and what was passed over (said, never silent).
    A bundle's reports are extracted into `workdir` (see `fleet_workdir`); without one, a
    bundle is a problem."""
    found: list[tuple[str, str, EntryKind, str | None]] = []  # name, source, kind, within
    problems: list[str] = []
    budget = [MAX_FILES]
    for given in paths:
        path = Path(given)
        try:
            st = path.stat()
        except OSError as exc:
            problems.append(f"{path}: {exc.strerror or exc}")
            continue
        if stat.S_ISDIR(st.st_mode):
            _directory(path, 0, found, problems, budget, workdir)
        elif stat.S_ISREG(st.st_mode):
            _file(path, found, problems, workdir)
        else:
            problems.append(f"{path}: not a regular file or a directory")
    return _unique(found), problems


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


def _directory(
    path: Path,
    depth: int,
    found: list[tuple[str, str, EntryKind, str | None]],
    problems: list[str],
    budget: list[int],
    workdir: Path | None,
) -> None:
    from workbench.sos.detect import is_report_dir

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
        if budget[0] <= 0:
            problems.append(f"{path}: more than {MAX_FILES} entries in all, the rest not looked at")
            return
        budget[0] -= 1
        if entry.name.startswith("."):
            continue
        child = Path(entry.path)
        try:
            if entry.is_symlink():
                problems.append(f"{child}: a symbolic link, not followed")
            elif entry.is_dir():
                _directory(child, depth + 1, found, problems, budget, workdir)
            elif entry.is_file():
                if not _is_checksum(child):
                    _file(child, found, problems, workdir)
            else:
                problems.append(f"{child}: not a regular file or a directory")
        except OSError as exc:
            problems.append(f"{child}: {exc.strerror or exc}")


def _is_checksum(path: Path) -> bool:
    """sos's .sha256/.md5 beside its archive: read by the archive's own check, not a machine."""
    return path.name.endswith((".sha256", ".md5")) and path.with_suffix("").is_file()


def _file(
    path: Path,
    found: list[tuple[str, str, EntryKind, str | None]],
    problems: list[str],
    workdir: Path | None,
) -> None:
    left: list[str] = []  # archives in a bundle that are no node's (their names said)
    try:
        kind, inner, hostname = _archive(path, left)
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
            _bundle(path, inner, found, problems, workdir)
        if left:
            shown = ", ".join(repr(n[:120]) for n in left[:3])
            more = f" and {len(left) - 3} more" if len(left) > 3 else ""
            problems.append(
                f"{path}: {len(left)} archive(s) in the bundle left out (not named "
                f"sosreport-*.tar.*, or an unsafe name): {shown}{more}"
            )
    else:
        problems.append(f"{path}: a tar archive, neither a capture nor a sosreport")


def _archive(path: Path, left: list[str] | None = None) -> tuple[str, list[str], str | None]:
    """What the archive holds: "capture" (with its recorded host name when it comes early:
    see `_capture_hostname`), "sos", "damaged" (a tar archive that breaks off: opened as a
    capture, whose refusal becomes that machine's error), or "tar" with the names of the
    sosreport archives among its members (a bundle). One pass, bounded; CaptureError for what
    is no tar archive."""
    from workbench.sos.archive import READ_LIMIT, compression, open_tar
    from workbench.sos.detect import ArchiveLayout

    mode = compression(path)
    shape = ArchiveLayout()
    inner: list[str] = []
    read = 0
    try:
        with open_tar(path, mode) as tar:
            for count, member in enumerate(tar, 1):
                parts = shape.see(member)
                if shape.is_report:
                    return "sos", [], None
                if parts == ["manifest.json"] and member.isreg():
                    # at the root: no sosreport (one top directory)
                    return "capture", [], _capture_hostname(tar)
                if member.isreg() and _INNER.search(member.name) and len(inner) < MAX_INNER:
                    if _safe_member(member.name):
                        inner.append(member.name)
                    elif left is not None:
                        left.append(member.name)
                elif member.isreg() and _PACKED.search(member.name) and left is not None:
                    left.append(member.name)
                read += member.size
                if count >= SCAN_MEMBERS or read > READ_LIMIT:
                    break
    except (tarfile.TarError, EOFError, OSError, ValueError, lzma.LZMAError, zlib.error):
        return "damaged", [], None
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


def _bundle(
    path: Path,
    inner: list[str],
    found: list[tuple[str, str, EntryKind, str | None]],
    problems: list[str],
    workdir: Path,
) -> None:
    """Extract the bundle's sosreport archives (and nothing else) into a directory of their
    own under `workdir`, each name checked as a sosreport member is; one entry per node."""
    from workbench.capture.unpack import check_member_name
    from workbench.sos.archive import CHUNK, compression, open_tar, refuse

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
    """`sosreport-HOST[-CASE]-YYYY-MM-DD-RAND.tar.xz` -> HOST (sos's shape), else the name
    without its suffix."""
    stem = _stem(file_name)
    match = _SOS_SHAPE.match(stem)
    return match.group("host")[:_NAME_LIMIT] if match else stem


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


def _unique(found: list[tuple[str, str, EntryKind, str | None]]) -> list[FleetEntry]:
    """Entries with unique names: names that clash are each machine's folder's name instead
    (Ansible's `captures/<host>/workbench-<host>.tar.gz`), and a clash left gets `#2`, `#3`...;
    a source named twice is one."""
    seen: dict[str, int] = {}
    sources: set[str] = set()
    kept = []
    for name, source, kind, within in found:
        key = os.path.realpath(source)
        if key not in sources:
            sources.add(key)
            kept.append((name, source, kind, within))
    clashes = Counter(name for name, _source, _kind, _within in kept)
    out: list[FleetEntry] = []
    for name, source, kind, within in kept:
        if clashes[name] > 1 and within is None and Path(source).parent.name:
            name = Path(source).parent.name[:_NAME_LIMIT]  # captures/<host>/workbench-<host>
        unique = name
        if name in seen:
            seen[name] += 1
            unique = f"{name}#{seen[name]}"
            while unique in seen:
                seen[name] += 1
                unique = f"{name}#{seen[name]}"
        seen.setdefault(unique, 1)
        out.append(FleetEntry(name=unique, source=source, kind=kind, within=within))
    return out
