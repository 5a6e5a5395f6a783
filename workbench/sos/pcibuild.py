"""The PCI part of a sosreport's machine root: `sys/bus/pci/devices/*` from lspci,
`sys/kernel/iommu_groups` from the best source of groups the report holds (see `groups`),
`boot_vga` from the kernel's vgaarb lines, and the IOMMU evidence of the kernel log.

Written as a live sysfs lays it out (what `workbench.machines.build_root` writes), so
`core.pciscan` reads it unchanged. A fact the report does not hold is left out, never invented.
"""

from __future__ import annotations

from workbench.core.devstate import STATE_RECORDED
from workbench.core.errors import HostReadError
from workbench.core.pci import is_bdf
from workbench.core.pcitopo import TOPOLOGY_RECORDED
from workbench.sos.cmdstatus import how
from workbench.sos.groups import boot_vga, choose, gather, iommu_lines
from workbench.sos.lspci import LspciDevice, parse_lspci
from workbench.sos.lspcitree import parse_tree
from workbench.sos.model import ASK_FOR, KernelLog, SosNotes
from workbench.sos.nodedev import NODEDEV_DIR, NODEDEV_PREFIX, NodeDevice, read_nodedevs
from workbench.sos.packages import package_version
from workbench.sos.reportfiles import collected_by, link_out, not_read

LSPCI_FILES = ("sos_commands/pci/lspci_-nnvv", "lspci", "sos_commands/pci/lspci_-nvv")
GROUPS = "sys/kernel/iommu_groups"
DEVICES = "sys/bus/pci/devices"
GROUPS_HOW = (
    "lspci shows them from pciutils 3.7; or `sos report -o virsh` with libvirt running "
    "(node-device XML); or a kernel log from boot (`sos report -o kernel,logs`)"
)
STATE_HOW = "no sos plugin collects them: `workbench capture` on the machine"
VGAARB_HOW = "a kernel log from boot with its vgaarb lines: `sos report -o kernel,logs`"
TREE_FILE = "sos_commands/pci/lspci_-tv"
MAX_DEPTH = 32  # bridges above a function: real machines have fewer than 10


def build_pci(notes: SosNotes) -> None:
    text, unusable = _read_lspci(notes)
    devices: list[LspciDevice] = []
    group_lines = False
    if text is None:
        _no_lspci(notes, DEVICES, unusable)
    else:
        listing = parse_lspci(text)
        devices, group_lines = listing.devices, listing.group_lines
        origin = notes.sources["pci"]
        if listing.skipped:
            notes.problems.append(f"{origin}: {listing.skipped} lines not understood")
        notes.problems += [f"{origin}: {p}" for p in listing.problems]
        if not devices:
            notes.missing(
                DEVICES, "a readable lspci -nnvv", f"{origin} lists no function: {ASK_FOR}"
            )
    from_lspci = bool(devices)
    nodedevs = read_nodedevs(notes)
    if not devices and nodedevs:  # `sos report -p virt`: no lspci, but libvirt's view of them
        devices = [_from_nodedev(n) for n in nodedevs]
        notes.sources["pci"] = f"{NODEDEV_DIR}/{NODEDEV_PREFIX}*"
        notes.not_recorded.pop(DEVICES, None)
    lspci_groups = {d.bdf: d.iommu_group for d in devices if d.iommu_group is not None}
    sources = gather(notes, lspci_groups, notes.sources.get("pci"), nodedevs)
    chosen = choose(sources)  # disagreements between sources become its problems
    notes.problems += sources.problems
    groups: dict[str, int] | None = None
    on = _evidence(notes, sources.log, sources.vfio_groups, sources.vfio_origin)
    if chosen is not None:
        name, origin, groups = chosen
        notes.sources["iommu_groups"] = f"{name}: {origin}"
    elif from_lspci and not group_lines:
        groups = _no_groups(notes, bool(on))
    if not devices:  # groups are links to devices: without lspci's there are none to link
        groups = None
        _no_lspci(notes, GROUPS, unusable)
    elif groups is None:
        notes.missing(GROUPS, "the IOMMU groups", GROUPS_HOW)
    else:
        notes.out.joinpath(GROUPS).mkdir(parents=True, exist_ok=True)
    notes.missing("sys/class/iommu", "the IOMMU units", "a sosreport does not list them")
    boot = boot_vga(sources.log.text) if sources.log else None
    parents = _tree(notes) if devices else None
    for dev in devices:
        base = _sysfs_dir(dev.bdf, parents or {})
        _device(notes, dev, None if groups is None else groups.get(dev.bdf), boot, base)
    if devices:
        notes.missing(
            STATE_RECORDED, "the devices' sysfs resource, config and power_state", STATE_HOW
        )
    known = {d.bdf for d in devices}
    strays = sorted(set(groups or {}) - known)
    if strays:
        notes.problems.append(
            f"IOMMU groups list {len(strays)} device(s) lspci does not show: {', '.join(strays[:5])}"
        )
    if boot is not None and sources.log is not None and sources.log.origin is not None:
        notes.sources["boot_vga"] = sources.log.origin


def _read_lspci(notes: SosNotes) -> tuple[str | None, str | None]:
    """(lspci's text, None), else (None, why a file the report holds gave none: `... is in
    this sosreport but could not be read (too large)`; None when the report has none)."""
    unusable = None
    for rel in LSPCI_FILES:
        try:
            text = notes.report.read_text(rel)
        except HostReadError as exc:
            said = not_read(rel, exc)
            notes.problems.append(said)
            present = exc.details.get("reason") != "missing" or " as a link to " in said
            if present and unusable is None:
                unusable = said
            continue
        if text is not None:
            notes.sources["pci"] = rel
            return text, None
        link = link_out(str(notes.report.root), rel)  # missing to the confined reader
        if link is not None:
            notes.problems.append(link)
            unusable = unusable or link
    return None, unusable


def _no_lspci(notes: SosNotes, path: str, unusable: str | None) -> None:
    """`path` of the root is not recorded: lspci's file is there but unusable (said as it
    is: asking for a new report would not help), or the report lacks it (what collects it)."""
    if unusable is not None:
        notes.not_recorded[path] = f"{unusable}: read it on the machine (lspci -nnvv)"
    else:
        notes.missing(path, "lspci -nnvv", _lspci_how(notes))


def _lspci_how(notes: SosNotes) -> str:
    """Why lspci's output is absent, as the report's own manifest says (pciutils not installed,
    the pci plugin not run), then what collects it."""
    return how(notes, "pci", "lspci -nnvv", collected_by("pci"))


def _evidence(
    notes: SosNotes, log: KernelLog | None, vfio: list[int], vfio_origin: str | None
) -> list[str]:
    """The lines that say whether the IOMMU is on, kept in the manifest's evidence."""
    on: list[str] = []
    off: list[str] = []
    if log is not None:
        said = iommu_lines(log.text)
        on, off = said.on, said.off
        if said.partial:
            notes.evidence["iommu_partial"] = said.partial
        start = "starts at boot" if log.from_boot else "does not start at boot"
        notes.evidence["iommu_log"] = [f"{log.origin} ({start})"]
    if vfio and vfio_origin:
        shown = ", ".join(map(str, vfio[:8])) + (" …" if len(vfio) > 8 else "")
        on.append(f"/dev/vfio/{vfio[0]} ({vfio_origin}: groups {shown} are bound to vfio)")
        notes.evidence["vfio_groups"] = [str(n) for n in vfio]
    if on:
        notes.evidence["iommu"] = on
    if off:
        notes.evidence["iommu_off"] = off
    return on


def _no_groups(notes: SosNotes, iommu_on: bool) -> dict[str, int] | None:
    """{} (a real "no groups") when the report proves lspci would have printed them: pciutils
    >= 3.7 printed no `IOMMU group:` line. None when that is not proven."""
    found = package_version(notes.report, "pciutils")
    if found is None:
        return None
    (major, minor), origin = found
    if (major, minor) < (3, 7):
        notes.problems.append(
            f"pciutils {major}.{minor} ({origin}) prints no `IOMMU group:` lines (3.7 does)"
        )
        return None
    if iommu_on:
        notes.problems.append(
            f"lspci (pciutils {major}.{minor}, {origin}) printed no `IOMMU group:` line, but the "
            "kernel log or /dev/vfio says the IOMMU is on: the groups are not judged"
        )
        return None
    notes.sources["iommu_groups"] = (
        f"none: lspci of pciutils {major}.{minor} ({origin}) prints `IOMMU group:` for every "
        "grouped device and printed none"
    )
    return {}


def _from_nodedev(dev: NodeDevice) -> LspciDevice:
    return LspciDevice(dev.bdf, dev.pci_class, dev.vendor, dev.device, driver=dev.driver)


def _tree(notes: SosNotes) -> dict[str, str | None] | None:
    """Where each function sits, from `lspci -tv` (sos's pci plugin runs it); None, and the
    topology said not recorded, when the report lacks it."""
    try:
        text = notes.report.read_text(TREE_FILE)
    except HostReadError as exc:
        notes.problems.append(not_read(TREE_FILE, exc))
        text = None
    if text is None:
        notes.missing(
            TOPOLOGY_RECORDED,
            "the PCI tree (lspci -tv)",
            how(notes, "pci", "lspci -tv", collected_by("pci")),
        )
        return None
    tree = parse_tree(text)
    if tree.skipped:
        notes.problems.append(f"{TREE_FILE}: {tree.skipped} lines not understood")
    notes.sources["pci_tree"] = TREE_FILE
    return tree.parent


def _sysfs_dir(bdf: str, parents: dict[str, str | None]) -> str:
    """The device's directory as a live sysfs nests it: below the bridges `lspci -tv` puts it
    behind, under its root bus; a function the tree does not show sits flat on pciDDDD:00
    (where it sits is then not recorded). A looping or overlong chain is not believed."""
    chain = [bdf]
    while (parent := parents.get(chain[-1])) is not None:
        if not is_bdf(parent) or parent in chain or len(chain) >= MAX_DEPTH:
            return f"sys/devices/pci{bdf[:4]}:00/{bdf}"
        chain.append(parent)
    top = chain[-1]
    root = f"pci{top[:4]}:{top[5:7]}" if top in parents else f"pci{top[:4]}:00"
    return "/".join(["sys/devices", root, *reversed(chain)])


def _device(
    notes: SosNotes, dev: LspciDevice, group: int | None, boot: str | None, base: str
) -> None:
    if dev.vendor:
        notes.write(f"{base}/vendor", f"0x{dev.vendor}\n")
    if dev.device:
        notes.write(f"{base}/device", f"0x{dev.device}\n")
    if dev.pci_class:
        notes.write(f"{base}/class", f"0x{dev.pci_class}\n")
    if dev.rev:
        notes.write(f"{base}/revision", f"0x{dev.rev}\n")
    notes.link(f"{DEVICES}/{dev.bdf}", base)
    if dev.pci_class and dev.pci_class[:4] == "0300":  # the kernel's boot_vga: VGA class only
        if boot is not None:
            notes.write(f"{base}/boot_vga", "1\n" if dev.bdf == boot else "0\n")
        else:
            notes.missing(
                f"{DEVICES}/{dev.bdf}/boot_vga", "which GPU the host booted on", VGAARB_HOW
            )
    if dev.driver_unreadable is not None:
        said = (
            f"{notes.sources.get('pci', 'lspci')}: {dev.bdf}'s driver in use is no driver name "
            f"({dev.driver_unreadable}): which driver is bound is not known"
        )
        notes.problems.append(said)
        notes.not_recorded[f"{DEVICES}/{dev.bdf}/driver"] = said
    if dev.driver:
        drv = f"sys/bus/pci/drivers/{dev.driver}"
        notes.link(f"{base}/driver", drv)
        notes.link(f"{drv}/{dev.bdf}", base)
    if group is not None:
        grp = f"{GROUPS}/{group}"
        if not notes.out.joinpath(grp, "type").exists():
            notes.write(f"{grp}/type", "DMA\n")
        notes.link(f"{base}/iommu_group", grp)
        notes.link(f"{grp}/devices/{dev.bdf}", base)
