"""Reading a machine's PCI functions and IOMMU groups into a PciInventory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.core.errors import HostReadError
from workbench.core.pci import PciDevice, PciInventory, is_bdf, parse_bool_attr, parse_hex
from workbench.core.pcitopo import UNPLACED, place_of
from workbench.core.text import parse_uint

if TYPE_CHECKING:
    from workbench.core.host import Host


MAX_GROUP = 1 << 20  # group numbers are small; anything larger is not a kernel's


def scan_pci(host: Host) -> PciInventory:
    """Read every PCI function and IOMMU group of `host` (udev on the live machine).

    One broken entry (a link loop, an unreadable directory) is a problem of that entry; the
    other devices and groups are still read.
    """
    problems: list[str] = []
    enumerated_by = "sysfs"
    devices_recorded = True
    entries: list[tuple[str, str, str | None]] = []  # (bdf, rel dir, driver or None)
    udev = _udev_pci(host) if host.live else None
    if udev is not None:
        enumerated_by = "udev"
        entries = udev
    else:
        names = _listdir(host, "sys/bus/pci/devices", problems)
        # A real machine always has PCI devices (a host bridge at least): an empty directory in
        # a recorded root means they were not recorded.
        devices_recorded = host.live or bool(names)
        for name in names:
            if not is_bdf(name):
                problems.append(f"sys/bus/pci/devices/{name}: not a PCI address, ignored")
                continue
            rel = f"sys/bus/pci/devices/{name}"
            entries.append((name, rel, host.link_name(f"{rel}/driver")))
    devices = [_read_device(host, bdf, rel, driver) for bdf, rel, driver in entries]
    groups: dict[int, tuple[str, ...]] = {}
    before = len(problems)
    group_names = _listdir(host, "sys/kernel/iommu_groups", problems)
    groups_recorded = host.live or (
        host.is_dir("sys/kernel/iommu_groups") and len(problems) == before
    )
    for name in group_names:
        number = parse_uint(name, limit=MAX_GROUP)
        if number is None:
            problems.append(f"sys/kernel/iommu_groups/{name}: not a group number, ignored")
            continue
        listed = _listdir(host, f"sys/kernel/iommu_groups/{name}/devices", problems)
        groups[number] = tuple(m for m in listed if is_bdf(m))
    return PciInventory(
        tuple(devices),
        groups,
        enumerated_by,
        tuple(problems),
        devices_recorded=devices_recorded,
        groups_recorded=groups_recorded,
    )


def _listdir(host: Host, rel: str, problems: list[str]) -> list[str]:
    """A directory's names; an unreadable one is a problem and lists nothing."""
    try:
        return host.listdir(rel)
    except HostReadError as exc:
        problems.append(exc.message)
        return []


def _udev_pci(host: Host) -> list[tuple[str, str, str | None]] | None:
    """libudev's view of the PCI bus (what lspci and udev rules see); None if unavailable."""
    try:
        import pyudev

        context = pyudev.Context()
        found = []
        for dev in context.list_devices(subsystem="pci"):
            bdf = str(dev.sys_name)
            if is_bdf(bdf):
                found.append((bdf, str(dev.sys_path).lstrip("/"), dev.driver))
    except (ImportError, OSError) as exc:
        host.problems.append(f"udev unavailable ({exc}); PCI devices read from sysfs")
        return None
    return sorted(found)


def _read_device(host: Host, bdf: str, rel: str, driver: str | None) -> PciDevice:
    problems: list[str] = []

    def attr(name: str, *, required: bool = False) -> str | None:
        text, problem = host.try_read(f"{rel}/{name}")
        if problem:
            problems.append(problem)
        elif text is None and required:
            problems.append(f"{bdf} {name}: missing")
        return text

    def hex_attr(name: str, digits: int) -> str | None:
        text = attr(name, required=True)
        value = parse_hex(text, digits)
        if text is not None and value is None:
            problems.append(f"{bdf} {name}: unparseable value {text.strip()[:40]!r}")
        return value

    group_name = host.link_name(f"{rel}/iommu_group")
    group = parse_uint(group_name, limit=MAX_GROUP)
    if group_name is not None and group is None:
        problems.append(f"{bdf} iommu_group: not a group number {group_name[:40]!r}")
    pci_class = hex_attr("class", 6)
    # Only what every probe needs is read for every device; the rest (reset_method, …) is
    # read on demand through `PciDevice.sysfs`.
    boot_vga = parse_bool_attr(attr("boot_vga")) if pci_class and pci_class[:2] == "03" else None
    where = host.resolved_parts(rel)
    return PciDevice(
        bdf=bdf,
        vendor=hex_attr("vendor", 4),
        device=hex_attr("device", 4),
        pci_class=pci_class,
        driver=driver,
        iommu_group=group,
        boot_vga=boot_vga,
        sysfs=rel,
        problems=tuple(problems),
        driver_known=driver is not None or not _driver_not_recorded(host, bdf),
        place=UNPLACED if where is None else place_of(where, bdf),
    )


def _driver_not_recorded(host: Host, bdf: str) -> bool:
    """Whether a recording says this device's driver is not known (not "no driver"): its
    manifest's not_recorded names exactly `sys/bus/pci/devices/BDF/driver`."""
    said = host.manifest.get("not_recorded") if not host.live else None
    return isinstance(said, dict) and f"sys/bus/pci/devices/{bdf}/driver" in said
