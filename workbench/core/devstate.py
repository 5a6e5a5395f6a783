"""One reader of a PCI device's state, through a Host: /proc/iomem's ranges, the device's BARs
(sysfs `resource`), its power state and the head of its config space; and the one test of a
boot framebuffer inside a BAR. `probes/device_state.py` and `workbench explain` both use it.

A fact that cannot be judged is None with why: /proc/iomem read without root shows every
address as 0 (so a zeroed iomem says nothing about where a framebuffer lies), and config space
is never read from a device in D3cold (reading it wakes the device)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from workbench.core.errors import HostReadError, WorkbenchError
from workbench.core.host import Host

# The `not_recorded` entry of a recording that holds the devices but not their state (sysfs
# resource, config, power_state): a sosreport's root says why and what would record it.
STATE_RECORDED = "sys/bus/pci/devices#state"
BOOT_FRAMEBUFFERS = ("bootfb", "efifb", "vesafb", "simplefb", "simpledrm", "simple-framebuffer")
IORESOURCE_MEM = 0x200
ROM_INDEX = 6  # resource lines 0-5 are the BARs, 6 the expansion ROM, then bridge windows
MAX_RANGES = 4096  # /proc/iomem lines kept (a real machine has a few hundred)
ZEROED = "/proc/iomem shows no addresses (read it as root: without root every address reads 0)"
_IOMEM = re.compile(
    r"^(?P<indent>\s{0,32})(?P<start>[0-9a-f]{1,16})-(?P<end>[0-9a-f]{1,16}) : (?P<name>.{1,200})$"
)


@dataclass(frozen=True)
class Range:
    """A /proc/iomem line (or a BAR): its addresses, name, and where it was read."""

    start: int
    end: int
    name: str
    line_no: int = 0
    line: str = ""
    source: str | None = None

    @property
    def is_boot_framebuffer(self) -> bool:
        return self.name.lower().startswith(BOOT_FRAMEBUFFERS)


@dataclass(frozen=True)
class Iomem:
    """/proc/iomem's ranges, or None and why they cannot be judged; `dropped` past the cap."""

    ranges: list[Range] | None
    why: str | None = None
    dropped: int = 0

    @property
    def framebuffers(self) -> list[Range]:
        return [r for r in self.ranges or [] if r.is_boot_framebuffer]


def iomem_range(line: str, line_no: int = 0, source: str | None = "/proc/iomem") -> Range | None:
    """The range an /proc/iomem line gives (`  e0000000-efffffff : 0000:01:00.0`), else None."""
    line = line.rstrip("\r\n")
    m = _IOMEM.match(line)
    if m is None:
        return None
    return Range(int(m["start"], 16), int(m["end"], 16), m["name"].strip(), line_no, line, source)


def addresses_zeroed(ranges: Sequence[Range]) -> bool:
    """Every address reads 0 (/proc/iomem read without root): nothing to judge by."""
    return bool(ranges) and all(r.start == 0 and r.end == 0 for r in ranges)


def parse_iomem(text: str, limit: int = MAX_RANGES) -> Iomem:
    """The ranges of an /proc/iomem text (the first `limit`, the rest counted)."""
    ranges: list[Range] = []
    dropped = 0
    for n, line in enumerate(text.splitlines(), 1):
        if (r := iomem_range(line, n)) is None:
            continue
        if len(ranges) < limit:
            ranges.append(r)
        else:
            dropped += 1
    if addresses_zeroed(ranges):
        return Iomem(None, ZEROED, dropped)
    return Iomem(ranges, None, dropped)


def iomem(host: Host, limit: int = MAX_RANGES) -> Iomem:
    """The machine's /proc/iomem; None with why when absent, unreadable or zeroed."""
    text, problem = host.try_read("proc/iomem")
    if text is None:
        return Iomem(None, problem or "/proc/iomem not recorded")
    if _manifest_says_zeroed(host):
        return Iomem(None, ZEROED)
    return parse_iomem(text, limit)


def _manifest_says_zeroed(host: Host) -> bool:
    """A capture's manifest says its /proc/iomem was read with zeroed addresses."""
    if host.live:
        return False
    said = host.manifest.get("facts")
    said = said.get("iomem") if isinstance(said, dict) else None
    return isinstance(said, dict) and said.get("addresses_zeroed") is True


def parse_bars(text: str) -> list[Range]:
    """The memory BARs (and ROM) of a sysfs `resource` text, named by their index."""
    bars: list[Range] = []
    for i, line in enumerate(text.splitlines()[: ROM_INDEX + 1]):
        fields = line.split()
        if len(fields) != 3:
            continue
        try:
            start, end, flags = (int(f, 16) for f in fields)
        except ValueError:
            continue
        if start and end > start and flags & IORESOURCE_MEM:
            bars.append(Range(start, end, str(i), i + 1, line))
    return bars


def bars(host: Host, sysfs: str) -> list[Range] | None:
    """A device's memory BARs (name: the index, "6" the ROM); None when not recorded."""
    text, _ = host.try_read(f"{sysfs}/resource")
    return None if text is None else parse_bars(text)


def power_state(host: Host, sysfs: str) -> str | None:
    """sysfs `power_state` ("D0", "D3cold"); None when not recorded."""
    text, _ = host.try_read(f"{sysfs}/power_state")
    if text is None or not text.strip():
        return None
    return text.strip()[:16]


def config_head(host: Host, sysfs: str, power: str | None) -> bytes | None:
    """The first 64 bytes of config space; None when not recorded, and never read from a
    device in D3cold (reading config wakes it: read power_state first)."""
    if power == "D3cold":
        return None
    try:
        data = host.read_bytes(f"{sysfs}/config")
    except (WorkbenchError, HostReadError, OSError):
        return None
    return None if data is None else data[:64]


def framebuffer_overlaps(
    fbs: Iterable[Range], owners: Iterable[Range]
) -> list[tuple[Range, Range]]:
    """(framebuffer, owner) for each framebuffer that overlaps an owner range (a BAR, a device's
    /proc/iomem range): owners sorted by start, the latest-ending owner among those starting
    before the framebuffer ends found by bisection, n log n (not framebuffers x owners)."""
    ordered = sorted(owners, key=lambda r: r.start)
    starts = [r.start for r in ordered]
    reach: list[int] = []  # reach[i]: index of the owner ending latest among ordered[: i + 1]
    for i, r in enumerate(ordered):
        reach.append(i if not reach or r.end > ordered[reach[-1]].end else reach[-1])
    found: list[tuple[Range, Range]] = []
    for fb in fbs:
        k = bisect.bisect_right(starts, fb.end)
        if k and ordered[reach[k - 1]].end >= fb.start:
            found.append((fb, ordered[reach[k - 1]]))
    return found
