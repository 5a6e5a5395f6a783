"""Facts the evidence carries besides log lines: devices and their drivers (from `lspci -nnk`
blocks in the input, kernel lines `DRIVER 0000:01:00.0: ...`, or the machine), /proc/iomem
ranges, the kernel command line, hugepages, CPU flags, the vfio_iommu_type1 parameters.

The input's facts are read from the lines the prefilter lets through (`LITERALS`); the machine's
from a Host (`add_host`). Checks (`checks.py`) read both the same way. A fact that was not
recorded stays None: checks then say nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workbench.core import devstate
from workbench.core.devstate import Range
from workbench.core.errors import HostReadError
from workbench.core.viability import is_bridge_class
from workbench.explain.model import Evidence

if TYPE_CHECKING:
    from workbench.core.host import Host
    from workbench.core.pci import PciInventory

# Drivers whose kernel lines (`nvidia 0000:01:00.0: ...`) show which device they hold: the
# GPU drivers, its audio function's, the passthrough drivers, and USB controllers of a card.
DRIVER_LINE_DRIVERS = (
    "nvidia",
    "nouveau",
    "amdgpu",
    "radeon",
    "i915",
    "snd_hda_intel",
    "vfio-pci",
    "pci-stub",
    "xhci_hcd",
)
# What lets a fact line through the prefilter (lowercase, rare in ordinary logs).
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
    "hugepages_total",
    "iommu group ",
    "to iommu group",
    "nvrm: gpu 0",
    *(f"{driver} 0" for driver in DRIVER_LINE_DRIVERS),
)

_BDF = r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]"
_LSPCI = re.compile(
    r"^(?P<bdf>(?:[0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) [^\[]{0,200}\[(?P<cls>[0-9a-f]{4})\]:"
    r".{0,300}?\[(?P<vendor>[0-9a-f]{4}):(?P<device>[0-9a-f]{4})\]",
    re.IGNORECASE,
)
_DRIVER = re.compile(r"^\s*Kernel driver in use:\s*(?P<driver>[\w.-]{1,64})", re.IGNORECASE)
_KERNEL_DRIVER = re.compile(
    rf"^(?P<driver>{'|'.join(re.escape(d) for d in DRIVER_LINE_DRIVERS)}) (?P<bdf>{_BDF}): "
    rf"|^NVRM: GPU (?P<nvrm>{_BDF}): ",
    re.IGNORECASE,
)
# The same in a line as written: after the start, a dmesg time or a syslog/journal prefix.
_KERNEL_DRIVER_RAW = re.compile(
    rf"(?:^|\] |: )(?:(?P<driver>{'|'.join(re.escape(d) for d in DRIVER_LINE_DRIVERS)}) "
    rf"(?P<bdf>{_BDF}): |NVRM: GPU (?P<nvrm>{_BDF}): )",
    re.IGNORECASE,
)
_CMDLINE = re.compile(r"(?:Command line:|^BOOT_IMAGE=)\s*(?P<cmdline>.{1,4096})")
# `IOMMU Group 1 01:00.0 VGA ...` (the Arch wiki's listing) or a `IOMMU group 1` heading
# above indented lspci lines (ls-iommu scripts); the kernel's `Adding to iommu group N`.
_IOMMU_GROUP = re.compile(
    r"^IOMMU group (?P<group>\d{1,6}):?(?: (?P<rest>.{1,1000}))?$", re.IGNORECASE
)
_ADDING_TO_GROUP = re.compile(
    rf"^[\w-]{{1,32}} (?P<bdf>{_BDF}): Adding to iommu group (?P<group>\d{{1,6}})", re.IGNORECASE
)
# Facts kept of one input and machine (a hostile paste of a million ranges or BDFs stays
# bounded); what was dropped past them is counted.
MAX_IOMEM = devstate.MAX_RANGES
MAX_DEVICES = 4096
_MEMINFO_HUGE = re.compile(r"^HugePages_Total:\s{0,32}(?P<n>\d{1,12})\s*$", re.IGNORECASE)


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
    config_all_ones: bool | None = None  # config space read back as 0xff.. (None: not read)
    power_state: str | None = None  # sysfs power_state ("D0", "D3cold"), None: not recorded
    evidence: list[Evidence] = field(default_factory=list)
    # The driver is the machine's own (sysfs): a log's older word does not change it.
    bound_now: bool = False
    # The upstream port of the card's own PCIe switch it sits below (core.pcitopo; the
    # machine's topology): None, its card is its slot.
    card_switch: str | None = None
    # (driver, line) of the first log lines that named its driver: those that agree with the
    # machine's binding stay its evidence beside the sysfs link.
    seen: list[tuple[str, Evidence]] = field(default_factory=list)

    def saw_driver(self, driver: str, evidence: Evidence) -> None:
        """A log line or an lspci block shows `driver` on this device (the latest wins, as a
        log shows rebinding in order), unless the machine says what holds it now."""
        if len(self.seen) < 4:
            self.seen.append((driver, evidence))
        if self.bound_now:
            if driver == self.driver and len(self.evidence) < 4:
                self.evidence.append(evidence)  # the log agrees with the machine: it shows it
            return
        self.driver = driver
        if len(self.evidence) < 4:
            self.evidence.append(evidence)

    @property
    def is_gpu(self) -> bool:
        return self.pci_class is not None and self.pci_class.startswith("03")

    @property
    def is_bridge(self) -> bool:
        return is_bridge_class(self.pci_class)

    @property
    def slot(self) -> str:
        return self.bdf.rsplit(".", 1)[0]

    @property
    def card(self) -> str:
        """What its card's devices share: the card's switch, else the slot."""
        return self.card_switch or self.slot


@dataclass
class Facts:
    devices: dict[str, Device] = field(default_factory=dict)
    iomem: list[Range] = field(default_factory=list)  # zeroed ranges (read without root) left out
    iomem_dropped: int = 0  # ranges past MAX_IOMEM
    iomem_why: str | None = None  # why the machine's /proc/iomem was not taken
    devices_dropped: int = 0  # devices past MAX_DEVICES
    cmdline: str | None = None
    cmdline_evidence: Evidence | None = None
    # page size in KiB -> (reserved, free); {} when the machine has none, None not recorded
    hugepages: dict[int, tuple[int, int]] | None = None
    hugepages_total: int | None = None  # HugePages_Total of a pasted /proc/meminfo
    hugepages_evidence: Evidence | None = None
    cpu_flags: frozenset[str] | None = None
    unsafe_interrupts: bool | None = None  # vfio_iommu_type1 allow_unsafe_interrupts
    iommu_groups: int | None = None  # how many groups the machine has (None: not recorded)
    iommu_ecaps: list[int] = field(default_factory=list)  # Intel IOMMU units' ecap registers
    _last_lspci: Device | None = None
    _group_heading: int | None = None  # the `IOMMU group N` heading lspci lines are under

    def device(self, bdf: str) -> Device:
        """The device at `bdf`; past MAX_DEVICES a new one is counted and not kept."""
        bdf = full_bdf(bdf)
        dev = self.devices.get(bdf)
        if dev is None:
            dev = Device(bdf)
            if len(self.devices) < MAX_DEVICES:
                self.devices[bdf] = dev
            else:
                self.devices_dropped += 1
        return dev

    def add_iomem(self, found: Range) -> None:
        """Keep an /proc/iomem range: one whose addresses read 0 (read without root) says
        nothing; past MAX_IOMEM it is counted."""
        if found.start == 0 and found.end == 0:
            return
        if len(self.iomem) < MAX_IOMEM:
            self.iomem.append(found)
        else:
            self.iomem_dropped += 1

    def feed(self, text: str, evidence: Evidence) -> None:
        """Take what `text` (a normalised line) tells; lines that tell nothing are ignored."""
        if m := _IOMMU_GROUP.match(text):
            group = int(m["group"])
            if m["rest"] and (dev := self._lspci(m["rest"], evidence)):
                dev.group = group
            else:
                self._group_heading = group
        elif dev := self._lspci(text, evidence):
            if self._group_heading is not None:
                dev.group = self._group_heading
        elif m := _ADDING_TO_GROUP.match(text):
            self.device(m["bdf"]).group = int(m["group"])
        elif (m := _DRIVER.match(text)) and self._last_lspci is not None:
            self._last_lspci.saw_driver(m["driver"], evidence)
        elif m := _KERNEL_DRIVER.match(text):
            self._driver_seen(m["bdf"] or m["nvrm"], m["driver"], evidence)
        elif found := devstate.iomem_range(evidence.text, evidence.line, evidence.source):
            self.add_iomem(found)
        elif m := _MEMINFO_HUGE.match(text):
            self.hugepages_total, self.hugepages_evidence = int(m["n"]), evidence
        elif (m := _CMDLINE.search(text)) and self.cmdline is None:
            self.cmdline, self.cmdline_evidence = m["cmdline"], evidence

    def _lspci(self, text: str, evidence: Evidence) -> Device | None:
        """The device an `lspci -nn` line describes (it becomes the one a following `Kernel
        driver in use` line is about)."""
        m = _LSPCI.match(text)
        if m is None:
            return None
        dev = self.device(m["bdf"])
        dev.pci_class, dev.vendor, dev.device = m["cls"].lower(), m["vendor"], m["device"]
        dev.evidence.append(evidence)
        self._last_lspci = dev
        return dev

    def feed_driver_line(self, raw: str, evidence: Evidence) -> bool:
        """Take a kernel driver line as written (no normalising: the cheap path for the
        commonest fact line); False when `raw` is not one."""
        m = _KERNEL_DRIVER_RAW.search(raw)
        if m is None:
            return False
        self._driver_seen(m["bdf"] or m["nvrm"], m["driver"], evidence)
        return True

    def _driver_seen(self, bdf: str, driver: str | None, evidence: Evidence) -> None:
        self.device(bdf).saw_driver((driver or "nvidia").lower(), evidence)

    def add_host(self, host: Host) -> None:
        """Join the machine's facts: its PCI devices (driver, group, state), /proc/iomem, the
        command line, hugepages, CPU flags and the vfio_iommu_type1 parameters."""
        try:
            inventory = host.pci()
        except HostReadError:
            inventory = None  # a hung or unreadable sysfs: its devices were not recorded
        if inventory is not None:
            self._host_devices(host, inventory)
        self._host_files(host)

    def _host_devices(self, host: Host, inventory: PciInventory) -> None:
        # Where the machine's record says its PCI devices came from (a sosreport's lspci):
        # cited instead of a sysfs path that record never held.
        sources = host.manifest.get("sources") if not host.live else None
        origin = sources.get("pci") if isinstance(sources, dict) else None
        origin = origin[:200] if isinstance(origin, str) and origin else None
        for dev in inventory.devices:
            known = self.device(dev.bdf)
            known.pci_class = known.pci_class or dev.class4
            known.vendor = known.vendor or dev.vendor
            known.device = known.device or dev.device
            if dev.driver is not None:
                # The machine's own binding outranks a log's older word (a hook rebinds a GPU
                # after boot): the evidence is the sysfs link, not the log's boot line.
                known.driver, known.bound_now = dev.driver, True
                link = f"/{dev.sysfs}/driver" if dev.sysfs else f"/sys/bus/pci/devices/{dev.bdf}"
                link = origin or link
                agree = [ev for driver, ev in known.seen if driver == dev.driver][:3]
                known.evidence = [Evidence(0, f"{dev.bdf} driver: {dev.driver}", link), *agree]
            known.group = dev.iommu_group if known.group is None else known.group
            known.card_switch = inventory.card_switch(dev.bdf)
            if dev.sysfs and (dev.is_gpu or dev.driver in ("vfio-pci", "pci-stub")):
                self._device_state(host, known, dev.sysfs)
        if inventory.groups_recorded:
            self.iommu_groups = len(inventory.groups)

    def _host_files(self, host: Host) -> None:
        iomem = devstate.iomem(host, MAX_IOMEM)
        self.iomem_why = iomem.why
        self.iomem_dropped += iomem.dropped
        for found in iomem.ranges or []:
            self.add_iomem(found)
        if self.cmdline is None and (cmdline := _read_text(host, "proc/cmdline")):
            self.cmdline = cmdline.strip()
            self.cmdline_evidence = Evidence(1, self.cmdline, "/proc/cmdline")
        self._host_hugepages(host)
        self._host_cpu_flags(host)
        for unit in _listdir(host, "sys/class/iommu"):
            ecap = _read_text(host, f"sys/class/iommu/{unit}/intel-iommu/ecap")
            if ecap and re.fullmatch(r"[0-9a-fA-F]{1,16}", ecap.strip()):
                self.iommu_ecaps.append(int(ecap.strip(), 16))
        param = _read_text(host, "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts")
        if param is not None and param.strip()[:1] in ("Y", "N", "1", "0"):
            self.unsafe_interrupts = param.strip()[:1] in ("Y", "1")

    def _device_state(self, host: Host, dev: Device, sysfs: str) -> None:
        # power_state first: config is never read from a device in D3cold (it would wake it)
        dev.power_state = devstate.power_state(host, sysfs)
        head = devstate.config_head(host, sysfs, dev.power_state)
        if head:
            dev.config_all_ones = head == b"\xff" * len(head)

    def _host_hugepages(self, host: Host) -> None:
        base = "sys/kernel/mm/hugepages"
        if not _is_dir(host, base):
            return
        pages: dict[int, tuple[int, int]] = {}
        for name in _listdir(host, base):
            m = re.fullmatch(r"hugepages-(\d{1,12})kB", name)
            if not m:
                continue
            nr = _read_text(host, f"{base}/{name}/nr_hugepages")
            free = _read_text(host, f"{base}/{name}/free_hugepages")
            if nr is None or not nr.strip().isdigit():
                continue
            free_n = int(free.strip()) if free and free.strip().isdigit() else int(nr.strip())
            pages[int(m[1])] = (int(nr.strip()), free_n)
        self.hugepages = pages

    def _host_cpu_flags(self, host: Host) -> None:
        cpuinfo = _read_text(host, "proc/cpuinfo")
        if not cpuinfo:
            return
        for line in cpuinfo.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("flags", "Features"):
                self.cpu_flags = frozenset(value.split())
                return


# Reads of the machine that never raise: a file that cannot be read is a fact not recorded.
def _read_text(host: Host, rel: str) -> str | None:
    try:
        return host.read_text(rel)
    except (HostReadError, OSError):
        return None


def _listdir(host: Host, rel: str) -> list[str]:
    try:
        return host.listdir(rel)
    except (HostReadError, OSError):
        return []


def _is_dir(host: Host, rel: str) -> bool:
    try:
        return host.is_dir(rel)
    except (HostReadError, OSError):
        return False
