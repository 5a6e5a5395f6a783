"""The files of a capture, gathered in memory before they are written: regular files, symbolic
links (always relative, always inside the root) and directories."""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
from dataclasses import dataclass, field

from workbench.core.errors import HostReadError
from workbench.core.host import Host, resolve_confined

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class Tree:
    """Paths are relative to the machine root, '/'-separated, without '.' or '..'."""

    files: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    def add_bytes(self, rel: str, data: bytes) -> None:
        self.files[_clean(rel)] = data

    def add_dir(self, rel: str) -> None:
        self.dirs.add(_clean(rel))

    def merge(self, other: Tree) -> None:
        self.files.update(other.files)
        self.links.update(other.links)
        self.dirs |= other.dirs
        self.problems += other.problems

    def names(self) -> set[str]:
        return set(self.files) | set(self.links) | self.dirs

    def real(self, rel: str) -> str:
        """`rel` with every recorded link among its parents followed: where the member must be
        stored (an archive never holds a member inside a link; /dev/shm may be one)."""
        try:
            parts, _ = resolve_confined(_parts(rel), self._link_at, follow_last=False)
        except HostReadError as exc:  # a loop of links (or a hostile depth)
            raise ValueError(f"{rel}: {exc.message}") from exc
        return "/".join(parts)

    def _link_at(self, parts: tuple[str, ...]) -> str | None:
        return self.links.get("/".join(parts))  # what the tree does not hold is not a link

    def settled(self) -> Tree:
        """The same tree with every file and directory stored where its links lead (what sits
        under a loop of links is left out, with a problem saying so)."""
        out = Tree(links=dict(self.links), problems=list(self.problems))
        for rel, data in self.files.items():
            try:
                out.files[self.real(rel)] = data
            except ValueError:
                out.problems.append(f"{rel}: left out, its links loop")
        for rel in self.dirs:
            with contextlib.suppress(ValueError):
                out.dirs.add(self.real(rel))
        return out


def whole_lines(data: bytes, cut: bool) -> tuple[bytes, bool]:
    """`data` without its first line when its start was `cut` off (a tail starts at a line
    boundary); the last line stays even without its newline (a log's last words are the
    failure). And whether anything was left out."""
    if cut:
        data = data.partition(b"\n")[2]
    return data, cut


def _pread_all(fd: int, size: int, offset: int) -> bytes:
    """`size` bytes at `offset` (fewer at the end of the file): sysfs and proc answer a read
    in pages, so one pread may return less than asked."""
    chunks: list[bytes] = []
    while size > 0:
        chunk = os.pread(fd, min(size, 1 << 20), offset)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _parts(rel: str) -> tuple[str, ...]:
    return tuple(p for p in rel.split("/") if p and p != ".")


def _clean(rel: str) -> str:
    parts = [p for p in rel.split("/") if p and p != "."]
    if not parts or ".." in parts:
        raise ValueError(f"not a path inside the root: {rel!r}")
    return "/".join(parts)


class Copier:
    """Copies paths of a machine root (live `/` or a directory) into a Tree, keeping each
    symbolic link met on the way as a link, so the copy resolves exactly like the original."""

    def __init__(self, host: Host, tree: Tree) -> None:
        self.host = host
        self.tree = tree
        self._prefix = "" if host.live else str(host.root)

    def _real(self, parts: list[str]) -> str:
        return self._prefix + "/" + "/".join(parts)

    def resolve(self, rel: str) -> str | None:
        """Follow `rel` inside the root, recording every link; the real path, or None when a
        component is missing or the links loop."""
        try:
            parts, complete = resolve_confined(
                _parts(rel), self.host.link_at, on_link=self._keep_link
            )
        except HostReadError as exc:  # a loop of links (or a hostile depth)
            self.tree.problems.append(f"{rel}: {exc.message}")
            return None
        return "/".join(parts) if complete else None

    def _keep_link(self, link: tuple[str, ...], target: str) -> None:
        """Store a link met on the way relative to its directory, so it never names a host
        path; a link to its own directory (".") is followed but not kept (nothing needs it)."""
        folder = "/" + "/".join(link[:-1])
        base = "/" if target.startswith("/") else folder  # absolute: from the machine's root
        joined = posixpath.normpath(posixpath.join(base, target.lstrip("/")))
        target_rel = posixpath.relpath(joined, folder)
        if target_rel != ".":
            self.tree.links["/".join(link)] = target_rel

    def file(self, rel: str) -> bool:
        """Copy one file (through its links); False when it is missing or unreadable."""
        real = self.resolve(rel)
        if real is None:
            return False
        try:
            data = self.host.read_bytes(real)  # byte for byte: a capture never re-encodes
        except HostReadError as exc:
            self.tree.problems.append(exc.message)
            return False
        if data is None:
            return False
        self.tree.files[real] = data
        return True

    def head(self, rel: str, limit: int) -> bool:
        """Copy the first `limit` bytes of one file, never more (PCI config space: its standard
        header); False when it is missing or unreadable."""
        got = self._read_bounded(rel, limit, tail=False)
        if got is None:
            return False
        self.tree.files[got[0]] = got[1]
        return True

    def tail(self, rel: str, limit: int) -> tuple[bytes, bool] | None:
        """The newest whole lines of one file, at most `limit` bytes (a log: its failure is at
        the end), and whether older lines were left out; None when it is missing or
        unreadable (a problem says why, unless it is just missing). Not stored: the caller
        decides where."""
        got = self._read_bounded(rel, limit, tail=True)
        if got is None:
            return None
        data, cut = got[1], got[2]
        return whole_lines(data, cut)

    def _read_bounded(self, rel: str, limit: int, *, tail: bool) -> tuple[str, bytes, bool] | None:
        """(real path, at most `limit` bytes from the start or the end, whether bytes were
        left out), through one open file that is checked to be a regular file."""
        real = self.resolve(rel)
        if real is None:
            return None
        try:
            fd = os.open(self._real(real.split("/")), _OPEN_FLAGS)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.tree.problems.append(f"/{real}: {exc.strerror or exc}")
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                self.tree.problems.append(f"/{real}: not a regular file")
                return None
            if tail:
                start = max(0, st.st_size - limit)
                data = _pread_all(fd, st.st_size - start, start)
                return real, data, start > 0
            return real, _pread_all(fd, limit, 0), False
        except OSError as exc:
            self.tree.problems.append(f"/{real}: {exc.strerror or exc}")
            return None
        finally:
            os.close(fd)

    def listdir(self, rel: str) -> list[str]:
        """The names in a directory (through its links); recorded as a directory."""
        real = self.resolve(rel)
        if real is None:
            return []
        try:
            names = self.host.listdir(real)
        except HostReadError as exc:
            self.tree.problems.append(exc.message)
            return []
        self.tree.dirs.add(real)
        return names

    def link(self, rel: str) -> None:
        """Keep `rel` if it is a link (a driver or group link), and what it points to as a
        directory, without copying the target's contents."""
        real = self.resolve(rel)
        if real is not None and os.path.isdir(self._real(real.split("/"))):
            self.tree.dirs.add(real)
