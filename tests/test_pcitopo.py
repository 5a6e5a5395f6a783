"""The PCI topology a sysfs path shows, and which functions make one card (core.pcitopo)."""

from __future__ import annotations

import pytest

from workbench.core.pcitopo import Node, Place, find_cards, place_of, recorded

DEV = "sys/devices"


@pytest.mark.parametrize(
    ("path", "bdf", "place"),
    [
        # behind a bridge, as a live sysfs nests it
        (
            f"{DEV}/pci0000:00/0000:00:01.1/0000:01:00.0",
            "0000:01:00.0",
            Place("0000:00:01.1", True),
        ),
        # on its own root bus
        (f"{DEV}/pci0000:00/0000:00:02.0", "0000:00:02.0", Place(None, True)),
        # a second root bus (AMD EPYC: pci0000:40)
        (f"{DEV}/pci0000:40/0000:40:01.1", "0000:40:01.1", Place(None, True)),
        # a flat listing: a bus-03 device cannot sit on root bus 00
        (f"{DEV}/pci0000:00/0000:03:00.0", "0000:03:00.0", Place(None, False)),
        # not a device directory of its own (a plain directory in sys/bus/pci/devices)
        ("sys/bus/pci/devices/0000:03:00.0", "0000:03:00.0", Place(None, False)),
        # a path that ends elsewhere
        (f"{DEV}/pci0000:00/0000:00:01.1", "0000:03:00.0", Place(None, False)),
        ("", "0000:03:00.0", Place(None, False)),
    ],
)
def test_place_of(path: str, bdf: str, place: Place) -> None:
    """A device's place is the bridge above it, its root bus, or not recorded."""
    assert place_of(path.split("/") if path else [], bdf) == place


def node(bdf: str, vendor: str, cls: str, parent: str | None, placed: bool = True) -> Node:
    return Node(bdf, vendor, cls.startswith("06"), cls.startswith("03"), Place(parent, placed))


# The Arc A310 of the B850M machine: chipset port 06:00.0 (AMD), the card's own switch
# 07:00.0 -> 08:01.0 / 08:04.0 (Intel), GPU 09:00.0 and its audio 0a:00.0 on the next bus.
ARC = [
    node("0000:00:02.1", "1022", "0604", None),
    node("0000:05:00.0", "1022", "0604", "0000:00:02.1"),
    node("0000:06:00.0", "1022", "0604", "0000:05:00.0"),
    node("0000:07:00.0", "8086", "0604", "0000:06:00.0"),
    node("0000:08:01.0", "8086", "0604", "0000:07:00.0"),
    node("0000:08:04.0", "8086", "0604", "0000:07:00.0"),
    node("0000:09:00.0", "8086", "0300", "0000:08:01.0"),
    node("0000:0a:00.0", "8086", "0403", "0000:08:04.0"),
]
# The ASPEED BMC VGA behind its own PCIe-to-PCI bridge under a chipset port.
ASPEED = [
    node("0000:06:08.0", "1022", "0604", "0000:05:00.0"),
    node("0000:0b:00.0", "1a03", "0604", "0000:06:08.0"),
    node("0000:0c:00.0", "1a03", "0300", "0000:0b:00.0"),
]
# A Radeon card with its own switch (1002:1478/1479) and audio in the GPU's slot.
RADEON = [
    node("0000:00:01.1", "1022", "0604", None),
    node("0000:01:00.0", "1002", "0604", "0000:00:01.1"),
    node("0000:02:00.0", "1002", "0604", "0000:01:00.0"),
    node("0000:03:00.0", "1002", "0300", "0000:02:00.0"),
    node("0000:03:00.1", "1002", "0403", "0000:02:00.0"),
]
# A GPU straight below a root port (NVIDIA with audio and USB-C in its slot).
NVIDIA = [
    node("0000:00:01.0", "8086", "0604", None),
    node("0000:01:00.0", "10de", "0300", "0000:00:01.0"),
    node("0000:01:00.1", "10de", "0403", "0000:00:01.0"),
    node("0000:01:00.2", "10de", "0c03", "0000:00:01.0"),
]


def cards(nodes: list[Node]) -> dict[str, tuple[str, ...]]:
    return find_cards({n.bdf: n for n in nodes}).below


@pytest.mark.parametrize(
    ("nodes", "below"),
    [
        (ARC, {"0000:07:00.0": ("0000:09:00.0", "0000:0a:00.0")}),
        (ASPEED, {}),  # another vendor's bridge under a chipset port: no card switch
        (ARC + ASPEED, {"0000:07:00.0": ("0000:09:00.0", "0000:0a:00.0")}),
        (RADEON, {"0000:01:00.0": ("0000:03:00.0", "0000:03:00.1")}),
        (NVIDIA, {}),  # below a root port: the slot is the card
        # a switch of the GPU's vendor with another vendor's NIC below: a board's, not a card's
        ([*ARC, node("0000:0d:00.0", "10ec", "0200", "0000:08:04.0")], {}),
        # a downstream port leading to a further bridge: not only the card's functions
        ([*ARC, node("0000:0d:00.0", "8086", "0604", "0000:08:04.0")], {}),
        # the switch's children must all be ports: a function straight below it is not a card
        ([*ARC, node("0000:08:05.0", "8086", "0403", "0000:07:00.0")], {}),
        # no GPU below: a switch of audio only is no card
        ([n for n in ARC if n.bdf != "0000:09:00.0"], {}),
        # where the GPU sits not recorded: it is below nothing
        ([*ARC[:-2], node("0000:09:00.0", "8086", "0300", None, placed=False), ARC[-1]], {}),
    ],
    ids=[
        "arc",
        "aspeed",
        "arc-and-aspeed",
        "radeon",
        "nvidia",
        "foreign-nic",
        "deeper-bridge",
        "function-on-upstream",
        "no-gpu",
        "gpu-unplaced",
    ],
)
def test_find_cards(nodes: list[Node], below: dict[str, tuple[str, ...]]) -> None:
    """Only an upstream port whose ports lead only to its vendor's functions, a GPU among
    them, is a card's own switch."""
    assert cards(nodes) == below


@pytest.mark.parametrize(
    ("nodes", "bdf", "known"),
    [
        (ARC, "0000:09:00.0", True),
        (NVIDIA, "0000:00:01.0", True),  # on its root bus: nothing above it
        ([node("0000:03:00.0", "8086", "0300", None, placed=False)], "0000:03:00.0", False),
        # placed below a port whose own place is not recorded
        (
            [
                node("0000:02:01.0", "8086", "0604", None, placed=False),
                node("0000:03:00.0", "8086", "0300", "0000:02:01.0"),
            ],
            "0000:03:00.0",
            False,
        ),
        ([], "0000:03:00.0", False),
    ],
)
def test_recorded(nodes: list[Node], bdf: str, known: bool) -> None:
    """A card beyond the slot is known only when the device's place and its port's are."""
    assert recorded({n.bdf: n for n in nodes}, bdf) is known
