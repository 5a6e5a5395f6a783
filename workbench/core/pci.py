"""PCI devices as a probe sees them, and the pure parsers for their sysfs attributes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from workbench.core.pcitopo import UNPLACED, Cards, Node, Place, find_cards, recorded
from workbench.core.viability import is_bridge_class

_BDF = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
_HEX = re.compile(r"^(?:0x)?([0-9a-fA-F]+)$")


def is_bdf(text: str) -> bool:
    """True for a full PCI address in sysfs form, such as `0000:01:00.0`."""
    return _BDF.match(text) is not None


def parse_hex(text: str | None, digits: int) -> str | None:
    """`0x10de\\n` -> `10de`; None for anything that is not a hex number of at most `digits`."""
    if text is None:
        return None
    match = _HEX.match(text.strip())
    if match is None or len(match.group(1)) > digits:
        return None
    return match.group(1).lower().rjust(digits, "0")


def parse_bool_attr(text: str | None) -> bool | None:
    """sysfs booleans: `1`/`0` (also `Y`/`N`); None for anything else."""
    if text is None:
        return None
    value = text.strip()
    if value in ("1", "Y", "y"):
        return True
    if value in ("0", "N", "n"):
        return False
    return None


@dataclass(frozen=True)
class PciDevice:
    """One PCI function. Ids are lower-case hex without `0x`; unknown facts are None."""

    bdf: str
    vendor: str | None
    device: str | None
    pci_class: str | None  # 6 hex digits: base class, subclass, programming interface
    driver: str | None = None  # None: no driver bound, unless `driver_known` is False
    iommu_group: int | None = None
    boot_vga: bool | None = None
    sysfs: str | None = None  # its directory relative to the machine root, for further reads
    problems: tuple[str, ...] = ()
    # False: a driver may be bound but which is not known (a recording that says so, e.g. a
    # sosreport's lspci naming no valid driver): `driver` None then is not "no driver".
    driver_known: bool = True
    # Where it sits (core.pcitopo): the bridge it is behind, read from its sysfs directory;
    # UNPLACED: not recorded (a flat listing).
    place: Place = UNPLACED

    @property
    def slot(self) -> str:
        """domain:bus:device, shared by the functions of one card."""
        return self.bdf.rsplit(".", 1)[0]

    @property
    def class4(self) -> str | None:
        return None if self.pci_class is None else self.pci_class[:4]

    @property
    def is_gpu(self) -> bool:
        return self.pci_class is not None and self.pci_class.startswith("03")

    @property
    def is_bridge(self) -> bool:
        return is_bridge_class(self.class4)

    @property
    def ids(self) -> str:
        """`vendor:device` for display; `????` stands for an id that could not be read."""
        return f"{self.vendor or '????'}:{self.device or '????'}"

    @property
    def identified(self) -> bool:
        """Whether both ids are known: only then can the device be named to vfio-pci or judged."""
        return self.vendor is not None and self.device is not None

    @property
    def unknown_ids(self) -> str:
        """Which ids could not be read (`vendor id`, `device id`, `vendor and device ids`)."""
        missing = [n for n, v in (("vendor", self.vendor), ("device", self.device)) if v is None]
        return " and ".join(missing) + (" ids" if len(missing) > 1 else " id")


@dataclass(frozen=True)
class PciInventory:
    """Every PCI function of a machine and its IOMMU groups, as read once from the Host."""

    devices: tuple[PciDevice, ...]
    groups: dict[int, tuple[str, ...]]  # group number -> member addresses, as the kernel lists them
    enumerated_by: str  # "udev" or "sysfs"
    problems: tuple[str, ...] = ()
    # Whether the machine says anything about its devices / groups. On the live machine it
    # always does (no iommu_groups there means IOMMU off); a recorded root may simply lack them.
    devices_recorded: bool = True
    groups_recorded: bool = True
    by_bdf: dict[str, PciDevice] = field(init=False, repr=False, compare=False)
    by_slot: dict[str, list[PciDevice]] = field(init=False, repr=False, compare=False)
    nodes: dict[str, Node] = field(init=False, repr=False, compare=False)
    cards: Cards = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_bdf", {d.bdf: d for d in self.devices})
        slots: dict[str, list[PciDevice]] = {}
        for dev in self.devices:
            slots.setdefault(dev.slot, []).append(dev)
        object.__setattr__(self, "by_slot", slots)
        nodes = {d.bdf: Node(d.bdf, d.vendor, d.is_bridge, d.is_gpu, d.place) for d in self.devices}
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "cards", find_cards(nodes))

    def slot_functions(self, dev: PciDevice) -> list[PciDevice]:
        """The other functions of `dev`'s slot (same domain:bus:device)."""
        return [d for d in self.by_slot.get(dev.slot, ()) if d.bdf != dev.bdf]

    def card_functions(self, dev: PciDevice) -> list[PciDevice]:
        """The other functions of `dev`'s card: its slot's, and below the card's own PCIe
        switch every function there (core.pcitopo), in address order."""
        switch = self.cards.switch_of.get(dev.bdf)
        if switch is None:
            return self.slot_functions(dev)
        return [self.by_bdf[b] for b in self.cards.below[switch] if b != dev.bdf]

    def card_switch(self, bdf: str) -> str | None:
        """The upstream port of the card's own switch the function at `bdf` sits below."""
        return self.cards.switch_of.get(bdf)

    def card_recorded(self, bdf: str) -> bool:
        """Whether the card beyond `bdf`'s slot is known: where it sits is recorded."""
        return recorded(self.nodes, bdf)

    def card(self, bdf: str) -> list[PciDevice]:
        """The function at `bdf` followed by the other functions of its card."""
        dev = self.by_bdf[bdf]
        return [dev, *self.card_functions(dev)]

    def card_ids(self, bdf: str) -> str:
        """`vendor:device,...` of a whole card, as vfio-pci.ids wants them: only the functions
        whose ids are known (see `unidentified`), never a guessed `????`."""
        return ",".join(d.ids for d in self.card(bdf) if d.identified)

    def unidentified(self, bdf: str) -> list[PciDevice]:
        """The functions of the card at `bdf` whose ids could not be read."""
        return [d for d in self.card(bdf) if not d.identified]

    def group_members(self, group: int | None) -> list[str]:
        if group is None:
            return []
        return list(self.groups.get(group, ()))
