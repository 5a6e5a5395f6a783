"""The files of a capture, gathered in memory before they are written: regular files, symbolic
links (always relative, always inside the root) and directories."""

from __future__ import annotations

import contextlib
import os
import posixpath
from dataclasses import dataclass, field

from workbench.core.errors import HostReadError
from workbench.core.host import Host, resolve_confined


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
