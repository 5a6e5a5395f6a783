"""`lspci -tv` text (sos's `sos_commands/pci/lspci_-tv`) -> where each PCI function sits.

pciutils draws the tree (ls-tree.c) one line per leaf: a root bus as `-[DDDD:BB]-` (several as
`+-[DDDD:BB]-` / `\\-[DDDD:BB]-`), a function as `DD.F`, a bridge's secondary bus range as
`-[SS-EE]-` or `-[SS]-` after it, then its first child on the same line; a later sibling is
drawn at its first sibling's column on a line of its own, after `|` and spaces. A leaf's name
follows two spaces. So a function's bus is the one opened at its column, which the latest line
that drew something at that column opened (the tree is printed depth first).

The text is the customer's: a line that does not parse is counted, never fatal; names are
never read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_LINES = 65536  # a tree of every function a machine has is far shorter
MAX_LINE = 4096
_ROOT = re.compile(r"\[(?P<domain>[0-9a-f]{4,5}):(?P<bus>[0-9a-f]{2})\]-")
_DEV = re.compile(
    r"(?P<dev>[0-1][0-9a-f])\.(?P<fn>[0-7])(?:-\[(?P<sec>[0-9a-f]{2})(?:-[0-9a-f]{2})?\]-)?"
)
_LINKS = re.compile(r"[-+\\]*")
_INDENT = re.compile(r"[ |]*")


@dataclass(frozen=True)
class _Bus:
    domain: str
    number: str
    bridge: str | None  # the bridge whose secondary bus this is; None: a root bus


@dataclass
class Tree:
    """`parent`: each function's bridge (None: on a root bus); `skipped`: lines not read."""

    parent: dict[str, str | None] = field(default_factory=dict)
    skipped: int = 0


def parse_tree(text: str) -> Tree:
    """Where each function of an `lspci -tv` listing sits."""
    tree = Tree()
    at_column: dict[int, _Bus] = {}
    for n, line in enumerate(text.splitlines()):
        if n >= MAX_LINES:
            tree.skipped += 1
            continue
        line = line.rstrip("\r")[:MAX_LINE].lower()
        if line.strip() and not _read_line(line, at_column, tree):
            tree.skipped += 1
    return tree


def _read_line(line: str, at_column: dict[int, _Bus], tree: Tree) -> bool:
    """Read one line's chain (root, then functions each a child of the bridge before it)."""
    pos = _skip(_INDENT, line, 0)
    opened: _Bus | None = None  # the bus the next function sits on, opened on this line
    read = False
    while pos < len(line):
        pos = _skip(_LINKS, line, pos)
        if root := _ROOT.match(line, pos):
            opened = _Bus(root["domain"].rjust(4, "0"), root["bus"], None)
            pos = root.end()
            continue
        dev = _DEV.match(line, pos)
        if dev is None:
            return read
        bus = opened or at_column.get(pos)
        if bus is None:
            return read
        at_column[pos] = bus
        bdf = f"{bus.domain}:{bus.number}:{dev['dev']}.{dev['fn']}"
        if bdf not in tree.parent:  # a listing that draws a function twice: the first place
            tree.parent[bdf] = bus.bridge
        read = True
        pos = dev.end()
        if dev["sec"] is None:
            return True  # a leaf: its name follows
        opened = _Bus(bus.domain, dev["sec"], bdf)
    return read


def _skip(pattern: re.Pattern[str], line: str, pos: int) -> int:
    """Past what `pattern` (which matches the empty string too) matches at `pos`."""
    found = pattern.match(line, pos)
    return pos if found is None else found.end()
