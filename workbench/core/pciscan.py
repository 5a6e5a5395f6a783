"""Reading a machine's PCI functions and IOMMU groups into a PciInventory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.core.pci import PciDevice, PciInventory, is_bdf, parse_bool_attr, parse_hex

if TYPE_CHECKING:
    from workbench.core.host import Host


def scan_pci(host: Host) -> PciInventory:
    """Read every PCI function and IOMMU group of `host` (udev on the live machine)."""
    problems: list[str] = []
    enumerated_by = "sysfs"
    entries: list[tuple[str, str, str | None]] = []  # (bdf, rel dir, driver or None)
    udev = _udev_pci(host) if host.live else None
    if udev is not None:
        enumerated_by = "udev"
        entries = udev
    else:
        for name in host.listdir("sys/bus/pci/devices"):
            if not is_bdf(name):
                problems.append(f"sys/bus/pci/devices/{name}: not a PCI address, ignored")
                continue
            rel = f"sys/bus/pci/devices/{name}"
            entries.append((name, rel, host.link_name(f"{rel}/driver")))
    devices = [_read_device(host, bdf, rel, driver) for bdf, rel, driver in entries]
    groups: dict[int, tuple[str, ...]] = {}
    for name in host.listdir("sys/kernel/iommu_groups"):
        if not name.isdigit():
            problems.append(f"sys/kernel/iommu_groups/{name}: not a group number, ignored")
            continue
        members = [m for m in host.listdir(f"sys/kernel/iommu_groups/{name}/devices") if is_bdf(m)]
        groups[int(name)] = tuple(members)
    return PciInventory(tuple(devices), groups, enumerated_by, tuple(problems))


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

    def attr(name: str) -> str | None:
        text, problem = host.try_read(f"{rel}/{name}")
        if problem:
            problems.append(problem)
        return text

    def hex_attr(name: str, digits: int) -> str | None:
        text = attr(name)
        value = parse_hex(text, digits)
        if text is not None and value is None:
            problems.append(f"{bdf} {name}: unparseable value {text.strip()[:40]!r}")
        return value

    group_name = host.link_name(f"{rel}/iommu_group")
    group = int(group_name) if group_name and group_name.isdigit() else None
    pci_class = hex_attr("class", 6)
    # Only what every probe needs is read for every device; the rest (reset_method, …) is
    # read on demand through `PciDevice.sysfs`.
    boot_vga = parse_bool_attr(attr("boot_vga")) if pci_class and pci_class[:2] == "03" else None
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
    )
