"""The PCI topology a sysfs path shows, and a card: a device's slot plus, for a card with its
own PCIe switch (Intel Arc puts its HDMI audio on the next bus), every function below it.

A live sysfs nests a device under the bridge it sits behind
(`sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0`); a flat listing puts every device on
its root bus, where a device of another bus cannot sit: its place is then not recorded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# The record of where devices sit (a manifest's not_recorded key, like devstate's `#state`).
TOPOLOGY_RECORDED = "sys/devices#topology"
_BDF = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
_HOST_BRIDGE = re.compile(r"^pci([0-9a-f]{4,5}):([0-9a-f]{2})$")


@dataclass(frozen=True)
class Place:
    """Where a device sits: `parent` the bridge it is behind (None: on its root bus), and
    whether that is recorded (False: a flat listing, nothing known above the device)."""

    parent: str | None
    recorded: bool


def place_of(parts: Iterable[str], bdf: str) -> Place:
    """The place of `bdf` from its resolved sysfs directory's components."""
    names = list(parts)
    if len(names) < 2 or names[-1] != bdf:
        return Place(None, False)
    above = names[-2]
    if _BDF.match(above):
        return Place(above, True)
    root = _HOST_BRIDGE.match(above)
    # On its host bridge: only a device of that root bus sits there on a real machine.
    on_root_bus = root is not None and bdf.split(":")[:2] == [root[1].rjust(4, "0"), root[2]]
    return Place(None, on_root_bus)


UNPLACED = Place(None, False)  # where a device sits is not recorded


@dataclass(frozen=True)
class Node:
    """What the card rule reads of one device."""

    bdf: str
    vendor: str | None
    is_bridge: bool
    is_gpu: bool
    place: Place


@dataclass(frozen=True)
class Cards:
    """The cards of a machine: `switch_of` maps each function below a card's own switch to
    that switch's upstream port; `below` maps an upstream port to its functions."""

    switch_of: dict[str, str]
    below: dict[str, tuple[str, ...]]


def find_cards(nodes: Mapping[str, Node]) -> Cards:
    """Every card switch: an upstream port (not a root port) whose children are all bridges
    (its downstream ports), whose downstream ports lead only to functions (no further
    bridge), one of them a GPU, all of one vendor with the ports themselves. A chipset switch
    (other vendors' devices below) and a PCIe-to-PCI bridge of another vendor (a BMC's VGA)
    are no card's."""
    children: dict[str, list[str]] = {}
    for node in nodes.values():
        if node.place.recorded and node.place.parent is not None:
            children.setdefault(node.place.parent, []).append(node.bdf)
    switch_of: dict[str, str] = {}
    below: dict[str, tuple[str, ...]] = {}
    for upstream, ports in children.items():
        found = _card_below(nodes, children, upstream, ports)
        if found:
            below[upstream] = found
            switch_of.update(dict.fromkeys(found, upstream))
    return Cards(switch_of, below)


def _card_below(
    nodes: Mapping[str, Node], children: dict[str, list[str]], upstream: str, ports: list[str]
) -> tuple[str, ...]:
    """The functions below `upstream` when it is a card's own switch, else ()."""
    top = nodes.get(upstream)
    if top is None or not top.is_bridge or top.place.parent is None or top.vendor is None:
        return ()
    functions: list[str] = []
    for port in ports:
        node = nodes[port]
        if not node.is_bridge or node.vendor != top.vendor:
            return ()
        for child in children.get(port, ()):
            leaf = nodes[child]
            if leaf.is_bridge or leaf.vendor != top.vendor or child in children:
                return ()
            functions.append(child)
    if not any(nodes[f].is_gpu for f in functions):
        return ()
    return tuple(sorted(functions))


def recorded(nodes: Mapping[str, Node], bdf: str) -> bool:
    """Whether a card switch above `bdf` would be known: its place is recorded, and so is its
    parent's (the downstream port whose parent would be the switch)."""
    node = nodes.get(bdf)
    if node is None or not node.place.recorded:
        return False
    parent = node.place.parent
    if parent is None:
        return True
    above = nodes.get(parent)
    return above is not None and above.place.recorded
