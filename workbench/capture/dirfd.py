"""Writing below a directory without ever following a symbolic link: every path is walked one
name at a time from the directory's file descriptor with O_NOFOLLOW, so whatever an archive
plants, no write, mkdir or link can land outside the directory."""

from __future__ import annotations

import contextlib
import os
import stat
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_CACHED = 32  # open directory fds kept (members come sorted: mostly the last one is reused)


class DirWriter:
    """Creates directories, files and links below `root`; a link met on a path (ELOOP) or a
    file where a directory should be (ENOTDIR) raises OSError instead of being followed."""

    def __init__(self, root: Path) -> None:
        self._root = os.open(root, _DIR)
        self._fds: OrderedDict[str, int] = OrderedDict()

    def __enter__(self) -> DirWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        os.close(self._root)

    def mkdir(self, rel: str) -> int:
        """The fd of directory `rel` (kept open by the writer), made with its parents if
        missing. Iterative: an archive may name paths thousands of directories deep."""
        if not rel:
            return self._root
        fd = self._fds.get(rel)
        if fd is not None:
            self._fds.move_to_end(rel)
            return fd
        parts = rel.split("/")
        start, base = 0, self._root
        for i in range(len(parts) - 1, 0, -1):
            cached = self._fds.get("/".join(parts[:i]))
            if cached is not None:
                start, base = i, cached
                break
        fd = base
        try:
            for name in parts[start:]:
                # An existing name is opened below without following: a link or a file fails.
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o755, dir_fd=fd)
                child = os.open(name, _DIR, dir_fd=fd)
                if fd != base:
                    os.close(fd)
                fd = child
        except OSError:
            if fd != base:
                os.close(fd)
            raise
        self._fds[rel] = fd
        if len(self._fds) > _CACHED:
            os.close(self._fds.popitem(last=False)[1])
        return fd

    def write(self, rel: str, data: bytes) -> None:
        """A new file `rel` holding `data` (never an existing file, never through a link)."""
        parent, name = _split(rel)
        fd = os.open(name, _NEW, 0o644, dir_fd=self.mkdir(parent))
        try:  # os.write, not a file object: thousands of small files, each one syscall
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)

    def write_chunks(self, rel: str, chunks: Iterable[bytes]) -> None:
        """A new file `rel` holding `chunks` in order, each written as it comes (a large
        member never sits whole in memory)."""
        parent, name = _split(rel)
        fd = os.open(name, _NEW, 0o644, dir_fd=self.mkdir(parent))
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)

    def symlink(self, rel: str, target: str) -> None:
        """A new link `rel` -> `target`; its directory is reached without following links."""
        parent, name = _split(rel)
        os.symlink(target, name, dir_fd=self.mkdir(parent))

    def truncate(self, rel: str, size: int) -> None:
        """Extend or cut the regular file `rel` (never a link) to `size` bytes."""
        parent, name = _split(rel)
        fd = os.open(name, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.mkdir(parent))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise IsADirectoryError(f"{rel}: not a regular file")
            os.ftruncate(fd, size)
        finally:
            os.close(fd)


def _split(rel: str) -> tuple[str, str]:
    parent, _, name = rel.rpartition("/")
    return parent, name
