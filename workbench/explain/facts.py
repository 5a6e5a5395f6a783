"""Facts the evidence carries besides log lines: devices and their drivers (from `lspci -nnk`
blocks in the input, or the machine), /proc/iomem ranges, the kernel command line.

The input's facts are read from the lines the prefilter lets through (`LITERALS`); the machine's
from a Host (`from_host`). Checks (`checks.py`) read both the same way."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workbench.explain.model import Evidence

if TYPE_CHECKING:
    from workbench.core.host import Host

# What lets a fact line through the prefilter (lowercase).
LITERALS = (
    "controller [",
    "device [",
    "bridge [",
    "kernel driver in use",
    " : 0000:",
    "bootfb",
    "efifb",
    "vesafb",
    "simplefb",
    "simpledrm",
    "command line:",
    "boot_image",
)

_LSPCI = re.compile(
    r"^(?P<bdf>(?:[0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) [^\[]{0,200}\[(?P<cls>[0-9a-f]{4})\]:"
    r".{0,300}?\[(?P<vendor>[0-9a-f]{4}):(?P<device>[0-9a-f]{4})\]",
    re.IGNORECASE,
)
_DRIVER = re.compile(r"^\s*Kernel driver in use:\s*(?P<driver>[\w.-]{1,64})", re.IGNORECASE)
_IOMEM = re.compile(
    r"^(?P<indent>\s*)(?P<start>[0-9a-f]{1,16})-(?P<end>[0-9a-f]{1,16}) : (?P<name>.{1,200})$"
)
_CMDLINE = re.compile(r"(?:Command line:|^BOOT_IMAGE=)\s*(?P<cmdline>.{1,4096})")


def full_bdf(bdf: str) -> str:
    """`01:00.0` as `0000:01:00.0`, lowercase."""
    bdf = bdf.lower()
    return bdf if bdf.count(":") == 2 else f"0000:{bdf}"


@dataclass
class Device:
    bdf: str
    pci_class: str | None = None  # 4 hex digits
    vendor: str | None = None
    device: str | None = None
    driver: str | None = None
    group: int | None = None
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def is_gpu(self) -> bool:
        return self.pci_class is not None and self.pci_class.startswith("03")

    @property
    def slot(self) -> str:
        return self.bdf.rsplit(".", 1)[0]


@dataclass(frozen=True)
class IomemRange:
    start: int
    end: int
    name: str
    evidence: Evidence | None = None


@dataclass
class Facts:
    devices: dict[str, Device] = field(default_factory=dict)
    iomem: list[IomemRange] = field(default_factory=list)
    cmdline: str | None = None
    cmdline_evidence: Evidence | None = None
    _last_lspci: Device | None = None

    def feed(self, text: str, evidence: Evidence) -> None:
        """Take what `text` (a normalised line) tells; lines that tell nothing are ignored."""
        if m := _LSPCI.match(text):
            dev = self.devices.setdefault(full_bdf(m["bdf"]), Device(full_bdf(m["bdf"])))
            dev.pci_class, dev.vendor, dev.device = m["cls"].lower(), m["vendor"], m["device"]
            dev.evidence.append(evidence)
            self._last_lspci = dev
        elif (m := _DRIVER.match(text)) and self._last_lspci is not None:
            self._last_lspci.driver = m["driver"]
            self._last_lspci.evidence.append(evidence)
        elif m := _IOMEM.match(evidence.text.rstrip("\r\n")):
            self.iomem.append(
                IomemRange(int(m["start"], 16), int(m["end"], 16), m["name"].strip(), evidence)
            )
        elif (m := _CMDLINE.search(text)) and self.cmdline is None:
            self.cmdline, self.cmdline_evidence = m["cmdline"], evidence

    def add_host(self, host: Host) -> None:
        """Join the machine's facts: its PCI devices (driver, group) and /proc/iomem."""
        inventory = host.pci()
        for dev in inventory.devices:
            known = self.devices.setdefault(dev.bdf, Device(dev.bdf))
            known.pci_class = known.pci_class or dev.class4
            known.vendor = known.vendor or dev.vendor
            known.device = known.device or dev.device
            known.driver = known.driver or dev.driver
            known.group = dev.iommu_group if known.group is None else known.group
        iomem = host.read_text("proc/iomem")
        if iomem:
            for i, line in enumerate(iomem.splitlines(), 1):
                if m := _IOMEM.match(line):
                    where = Evidence(i, line, "/proc/iomem")
                    self.iomem.append(
                        IomemRange(int(m["start"], 16), int(m["end"], 16), m["name"].strip(), where)
                    )
        if self.cmdline is None and (cmdline := host.read_text("proc/cmdline")):
            self.cmdline = cmdline.strip()
            self.cmdline_evidence = Evidence(1, self.cmdline, "/proc/cmdline")
