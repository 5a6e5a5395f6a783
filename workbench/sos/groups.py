"""A sosreport's IOMMU groups, the IOMMU evidence and the boot VGA device, from what it holds.

Groups, best source first: libvirt's node-device XML (`sos_commands/virsh/virsh_-r_nodedev-
dumpxml_pci_*`: every member of each group), lspci's `IOMMU group:` lines (pciutils >= 3.7),
the kernel's `Adding to iommu group N` lines (of the one kernel log sos.journal chose; only when
it starts at boot, else members may be missing). `/dev/vfio/N` in the /dev listing gives group
numbers only: it proves the IOMMU on, not who is in a group. Sources that disagree are said;
the best one is used. Every name from the report is checked (an address, a number) before it
is used; every file is read through the confined, size-capped reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from workbench.core.text import safe_text
from workbench.sos.devlisting import dev_listing
from workbench.sos.journal import kernel_log
from workbench.sos.model import KernelLog, SosNotes
from workbench.sos.nodedev import NODEDEV_DIR, NODEDEV_PREFIX, NodeDevice

MAX_GROUP = 1 << 20
MAX_EVIDENCE = 12

_ADDING = re.compile(
    r"\bpci (?P<bdf>[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): Adding to iommu group "
    r"(?P<group>[0-9]{1,7})\b"
)
_ADDING_OLD = re.compile(  # kernels before 5.x: `iommu: Adding device 0000:00:02.0 to group 1`
    r"\biommu: Adding device (?P<bdf>[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) to group "
    r"(?P<group>[0-9]{1,7})\b"
)
# Lines the kernel prints only when an IOMMU translates DMA (the proof `iommu.enabled` reads).
IOMMU_ON = re.compile(
    r"DMAR: Intel\(R\) Virtualization Technology for Directed I/O|AMD-Vi: Interrupt remapping "
    r"enabled|AMD-Vi: Found IOMMU|AMD-Vi: AMD IOMMUv2|Adding to iommu group|iommu: Adding device"
)
# Lines that are no such proof, shown as what the log says: `DMAR: IOMMU enabled` echoes
# intel_iommu=on (printed without VT-d too), interrupt remapping works with DMA translation
# off, and the default domain type is printed by every kernel built with an IOMMU API.
IOMMU_PARTIAL = re.compile(
    r"DMAR: IOMMU enabled|DMAR-IR: Enabled IRQ remapping|iommu: Default domain type"
)
IOMMU_OFF = re.compile(r"DMAR: IOMMU disabled|AMD-Vi: AMD IOMMU disabled|AMD-Vi: disabled")
_BOOT = re.compile(
    r"\bpci (?P<bdf>[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): vgaarb: setting as boot VGA device"
    r"|vgaarb: (?:setting as boot device|overriding boot device): PCI:"
    r"(?P<old>[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])"
)


@dataclass
class GroupSources:
    """Every source of groups the report holds: name -> (its file, bdf -> group)."""

    found: dict[str, tuple[str, dict[str, int]]] = field(default_factory=dict)
    vfio_groups: list[int] = field(default_factory=list)  # /dev/vfio/N
    vfio_origin: str | None = None
    log: KernelLog | None = None
    problems: list[str] = field(default_factory=list)


def gather(
    notes: SosNotes,
    lspci_groups: dict[str, int],
    lspci_origin: str | None,
    nodedevs: list[NodeDevice],
) -> GroupSources:
    """Every source of groups in the report (see the module)."""
    out = GroupSources()
    nodedev = nodedev_groups(nodedevs)
    if nodedev:
        out.found["nodedev"] = (f"{NODEDEV_DIR}/{NODEDEV_PREFIX}*", nodedev)
    if lspci_groups and lspci_origin:
        out.found["lspci"] = (lspci_origin, lspci_groups)
    log = kernel_log(notes)
    if log.origin is not None:
        out.log = log
        groups = dmesg_groups(log.text)
        if groups and log.from_boot:
            out.found["dmesg"] = (log.origin, groups)
        elif groups:
            out.problems.append(
                f"{log.origin}: `Adding to iommu group` lines, but the log does not start at boot "
                "(some members may be missing): not used as the groups"
            )
    out.vfio_groups, out.vfio_origin = _dev_vfio(notes)
    return out


def choose(sources: GroupSources) -> tuple[str, str, dict[str, int]] | None:
    """(source name, its file, bdf -> group) of the best source; disagreements are problems."""
    order = [n for n in ("nodedev", "lspci", "dmesg") if n in sources.found]
    if not order:
        return None
    best = order[0]
    origin, groups = sources.found[best]
    for other in order[1:]:
        theirs = sources.found[other][1]
        differ = sorted(b for b in groups.keys() & theirs.keys() if groups[b] != theirs[b])
        if differ:
            shown = ", ".join(f"{b}: {groups[b]} vs {theirs[b]}" for b in differ[:5])
            sources.problems.append(
                f"IOMMU groups: {best} and {other} disagree ({shown}"
                f"{' …' if len(differ) > 5 else ''}); {best} is used"
            )
    return best, origin, groups


def dmesg_groups(text: str) -> dict[str, int]:
    """bdf -> group from the kernel's `Adding to iommu group` lines (the last one of a device)."""
    out: dict[str, int] = {}
    if "iommu" not in text:
        return out
    for pattern in (_ADDING_OLD, _ADDING):
        for match in pattern.finditer(text):
            number = int(match["group"])
            if number <= MAX_GROUP:
                out[match["bdf"]] = number
    return out


@dataclass
class IommuLines:
    """What the kernel log says of the IOMMU, a few lines each, as safe text."""

    on: list[str] = field(default_factory=list)  # lines that prove DMA translation on
    off: list[str] = field(default_factory=list)  # lines that say it is off
    partial: list[str] = field(default_factory=list)  # related lines that prove neither


def iommu_lines(text: str) -> IommuLines:
    """The kernel log's IOMMU lines (see IOMMU_ON, IOMMU_PARTIAL, IOMMU_OFF)."""
    out = IommuLines()
    if "DMAR" not in text and "AMD-Vi" not in text and "iommu" not in text:
        return out
    groups_said = False
    for line in text.splitlines():
        shown = safe_text(line.strip()[:300])
        if IOMMU_OFF.search(line):
            if len(out.off) < MAX_EVIDENCE:
                out.off.append(shown)
        elif IOMMU_ON.search(line):
            grouping = "iommu group" in line or "iommu: Adding device" in line
            if len(out.on) >= MAX_EVIDENCE or (grouping and groups_said):
                continue  # one `Adding to iommu group` line proves it; hundreds say no more
            groups_said = groups_said or grouping
            out.on.append(shown)
        elif IOMMU_PARTIAL.search(line) and len(out.partial) < MAX_EVIDENCE:
            out.partial.append(shown)
    return out


def boot_vga(text: str) -> str | None:
    """The boot VGA device the kernel log's vgaarb lines name; None: they do not say."""
    boot = None
    if "vgaarb" not in text:
        return boot
    for match in _BOOT.finditer(text):
        boot = match["bdf"] or match["old"]
    return boot


def nodedev_groups(devices: list[NodeDevice]) -> dict[str, int]:
    """bdf -> group from libvirt's node devices (every member each lists)."""
    out: dict[str, int] = {}
    for dev in devices:
        if dev.group is None:
            continue
        for bdf in (dev.bdf, *dev.members):
            out.setdefault(bdf, dev.group)
    return out


def _dev_vfio(notes: SosNotes) -> tuple[list[int], str | None]:
    """The group numbers under /dev/vfio in the report's /dev listing (sos.devlisting)."""
    listing = dev_listing(notes)
    if listing is None:
        return [], None
    numbers = {
        int(name)
        for name, entry in listing.sections.get("/dev/vfio", {}).items()
        if entry.kind == "char" and name.isdigit() and len(name) <= 7 and int(name) <= MAX_GROUP
    }
    return sorted(numbers), listing.origin
