"""The rules a capture's symbolic links obey: each points inside the root, and none needs more
than the kernel's 40 links to resolve (a longer chain only makes readers recurse)."""

from __future__ import annotations

MAX_HOPS = 40  # the kernel's limit (ELOOP): nothing behind a longer chain is readable anyway


def stays_inside(name: str, target: str, *, backslash: bool = False) -> bool:
    """Relative, some `..` first (no more than the link is deep), then names only. The link's
    own directories are real (no member may sit inside a link), so by induction every chain of
    such links ends inside the root, whatever the other links are. A backslash (an ordinary
    byte of a Linux name) is allowed only with `backslash`."""
    if not target or target.startswith("/") or "\0" in target:
        return False
    if not backslash and "\\" in target:
        return False
    parts = target.split("/")
    up = 0
    while up < len(parts) and parts[up] == "..":
        up += 1
    rest = parts[up:]
    if any(p in ("", ".", "..") for p in rest):
        return False
    return up <= name.count("/")


def too_long_chain(links: dict[str, str]) -> str | None:
    """The first link (by name) that needs more than MAX_HOPS links to resolve, or None. A pure
    loop (the same link met again with the same path left) is no chain: it resolves to
    nothing, as on a real machine. Each link's resolution is remembered (it does not depend on
    how it was reached: a link's directories are real), so this is linear in the links."""
    done: dict[str, tuple[list[str], int] | None] = {}  # None: a loop
    for name in sorted(links):
        if _hops(name, links, done) is None:
            return name
    return None


def _hops(
    start: str, links: dict[str, str], done: dict[str, tuple[list[str], int] | None]
) -> int | None:
    """Resolve the link `start` iteratively; its hop count (0 for a loop), None when over
    MAX_HOPS. Every link resolved on the way is remembered too (a marker after its target's
    names says where its resolution ends)."""
    if start in done:
        known = done[start]
        return 0 if known is None else known[1]
    path = start.split("/")[:-1]
    todo: list[str | tuple[str, int]] = [(start, 0), *reversed(links[start].split("/"))]
    hops = 1
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while todo:
        part = todo.pop()
        if isinstance(part, tuple):  # the end of a link's target: that link resolves here
            done[part[0]] = (list(path), hops - part[1])
            continue
        if part == "..":
            if path:
                path.pop()
            continue
        here = "/".join([*path, part])
        target = links.get(here)
        if target is None:
            path.append(part)
            continue
        if here in done:
            resolved = done[here]
            if resolved is None:  # through a loop: nothing there
                done[start] = None
                return 0
            path, hops = list(resolved[0]), hops + resolved[1]
        else:
            state = (here, tuple(p for p in todo if isinstance(p, str)))
            if state in seen:  # the same link with the same names left: a loop
                done[start] = None
                return 0
            seen.add(state)
            path = here.split("/")[:-1]
            todo.append((here, hops))
            todo.extend(reversed(target.split("/")))
            hops += 1
        if hops > MAX_HOPS:
            return None
    return hops
