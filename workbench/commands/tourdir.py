"""The folder `workbench demo --write DIR` writes into: checked before anything is written (a
name that is no folder, a kernel filesystem, a link, a folder of the user's own files are
refused, each saying what is wrong), then written through directory descriptors that never
follow a link inside it."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

MARKER = ".workbench-tour"  # written first into a folder the demo made: its files are ours
MARKER_TEXT = "written by `workbench demo --write`; a later --write replaces its files here\n"
# Filesystems that hold the kernel's view, never a user's files.
KERNEL_FS = frozenset(
    {
        "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs",
        "securityfs", "configfs", "bpf", "pstore", "efivarfs", "mqueue", "fusectl", "binfmt_misc",
        "autofs", "hugetlbfs", "nsfs", "rpc_pipefs",
    }
)  # fmt: skip
Writer = Callable[[int], None]  # writes one file's content into the descriptor it is given
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class TourDirError(Exception):
    """Why the folder cannot be written into (one line for the user)."""


def _unescape(field: str) -> str:
    """A mountinfo path: spaces and the like are written as octal escapes (`\\040`)."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def filesystem_of(path: Path) -> str | None:
    """The type of the filesystem `path` (resolved; its nearest existing folder) lies on, from
    /proc/self/mountinfo; None when that cannot be read."""
    where = path.resolve()
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        lines = Path("/proc/self/mountinfo").read_text(errors="replace").splitlines()
    except OSError:
        return None
    best, kind = "", None
    for line in lines:
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5 or not right.split():
            continue
        point = _unescape(fields[4])
        inside = str(where) == point or str(where).startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, right.split()[0]
    return kind


def check_name(raw: str) -> Path:
    """The folder the user named, or why that names none the demo should write into."""
    if raw == "":
        raise TourDirError("an empty name is no folder: name one, such as `tour`")
    if raw == "-":
        raise TourDirError("`-` is not a folder here (the demo writes files, not a stream)")
    out = Path(raw)
    kind = filesystem_of(out)
    if kind in KERNEL_FS:
        raise TourDirError(f"{raw} is not a folder the demo can write into (a kernel filesystem)")
    try:
        info = out.lstat()
    except FileNotFoundError:
        return out
    if stat.S_ISLNK(info.st_mode):
        raise TourDirError(f"{raw} is a symbolic link: name the folder itself")
    if not stat.S_ISDIR(info.st_mode):
        what = "a file" if stat.S_ISREG(info.st_mode) else "not a regular file"
        raise TourDirError(f"{raw} is {what}, not a folder")
    return out


@contextmanager
def opened(path: Path, name: str) -> Iterator[int]:
    """The folder `path` (made if missing, with its parents) as a descriptor; refused when it
    holds files but no marker of an earlier `demo --write`. `name` is how the user wrote it."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, DIR_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise TourDirError(f"{name} is a symbolic link: name the folder itself") from exc
        raise
    try:
        entries = os.listdir(fd)  # noqa: PTH208 - the descriptor, not a path that may move
        if entries and MARKER not in entries:
            raise TourDirError(
                f"{name} already holds files the demo did not write (no {MARKER} in it): "
                "name an empty or new folder, or one an earlier `demo --write` made"
            )
        if MARKER in entries and not _is_file(fd, MARKER):
            raise TourDirError(f"{name}/{MARKER} is not the demo's marker file")
        if MARKER not in entries:
            put(fd, MARKER, lambda out: write_all(out, MARKER_TEXT.encode()))
        yield fd
    finally:
        os.close(fd)


def _is_file(fd: int, name: str) -> bool:
    try:
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return stat.S_ISREG(info.st_mode)


def check_entry(fd: int, name: str, shown: str, folder: bool = False) -> None:
    """`name` in the folder is missing or what the demo writes there (a file, or a folder when
    `folder`): a link where a folder is wanted, or a folder where a file is, is refused."""
    try:
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if folder and stat.S_ISLNK(info.st_mode):
        raise TourDirError(f"{shown} is a symbolic link: the demo writes a folder there")
    if folder and not stat.S_ISDIR(info.st_mode):
        raise TourDirError(f"{shown} is not a folder: the demo writes one there")
    if not folder and stat.S_ISDIR(info.st_mode):
        raise TourDirError(f"{shown} is a folder: the demo writes a file there")


@contextmanager
def subfolder(fd: int, name: str, shown: str) -> Iterator[int]:
    """The folder `name` inside `fd` (made if missing), never through a link."""
    check_entry(fd, name, shown, folder=True)
    with suppress(FileExistsError):
        os.mkdir(name, 0o755, dir_fd=fd)
    try:
        sub = os.open(name, DIR_FLAGS, dir_fd=fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise TourDirError(
                f"{shown} is a symbolic link: the demo writes a folder there"
            ) from exc
        raise
    try:
        yield sub
    finally:
        os.close(sub)


def put(fd: int, name: str, write: Writer) -> None:
    """`write` into a new temporary file of the folder, then renamed over `name` at once: a
    link or a half-written file at `name` is replaced, never written through."""
    for attempt in range(100):
        tmp = f".{name}.{os.getpid()}.{attempt}.tmp"
        try:
            out = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                dir_fd=fd,
            )  # fmt: skip
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(errno.EEXIST, "no free temporary name", name)
    try:
        try:
            write(out)
            os.fchmod(out, 0o644)
        finally:
            os.close(out)
        os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
    except BaseException:
        os.unlink(tmp, dir_fd=fd)
        raise


def write_all(out: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(out, view) :]


def copy_from(source: Path) -> Writer:
    def write(out: int) -> None:
        with source.open("rb") as src:
            while chunk := src.read(1 << 20):
                write_all(out, chunk)

    return write
