"""libvirt's node-device XML of PCI functions, as `sos report -o virsh` keeps it
(`sos_commands/virsh/virsh_-r_nodedev-dumpxml_pci_*`): each function's address, class, ids,
driver and the members of its IOMMU group. Hostile text: parsed by `safexml` (no DTD, no entity),
sizes and counts are capped, every address is checked."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from workbench.core.errors import HostReadError
from workbench.core.pci import is_bdf
from workbench.sos.model import SosNotes
from workbench.sos.reportfiles import try_read
from workbench.sos.safexml import parse_untrusted

MAX_GROUP = 1 << 20
MAX_XML_FILES = 4096
MAX_XML_BYTES = 256 * 1024  # a node device's XML is a few kB
NODEDEV_DIR = "sos_commands/virsh"
NODEDEV_PREFIX = "virsh_-r_nodedev-dumpxml_pci_"
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}")  # a driver name, never a path
_HEX = re.compile(r"0x(?P<hex>[0-9a-fA-F]{1,8})")


@dataclass
class NodeDevice:
    """One PCI function as libvirt described it; what it did not say is None."""

    bdf: str
    pci_class: str | None = None  # 6 hex digits
    vendor: str | None = None
    device: str | None = None
    driver: str | None = None
    group: int | None = None
    members: list[str] = field(default_factory=list)  # its IOMMU group's, itself included


def read_nodedevs(notes: SosNotes) -> list[NodeDevice]:
    """Every PCI node device the report holds (files that do not parse are counted; one
    refused as hostile, a DTD or an entity, is named)."""
    report, problems = notes.report, notes.problems
    try:
        names = sorted(n for n in report.listdir(NODEDEV_DIR) if n.startswith(NODEDEV_PREFIX))
    except HostReadError:
        return []
    if len(names) > MAX_XML_FILES:
        problems.append(
            f"{NODEDEV_DIR}: {len(names)} node-device files, the first {MAX_XML_FILES} read"
        )
    out: dict[str, NodeDevice] = {}  # by address: one device, however many files name it
    bad = 0
    twice: list[str] = []
    for name in names[:MAX_XML_FILES]:
        rel = f"{NODEDEV_DIR}/{name}"
        text = try_read(notes, rel)
        if not text or not text.strip():
            continue
        try:
            found = parse_node_device(text)
        except ValueError as exc:  # a DTD, an entity: hostile, said by name as a domain's is
            problems.append(f"{rel[:200]!r}: {exc}; left out")
            continue
        if found is None:
            bad += 1
        elif found.bdf in out:
            twice.append(f"{name} ({found.bdf})")
        else:
            out[found.bdf] = found
    if bad:
        problems.append(f"{NODEDEV_DIR}: {bad} node-device XML file(s) not understood, skipped")
    if twice:
        problems.append(
            f"{NODEDEV_DIR}: {len(twice)} node-device file(s) describe an address already read, "
            f"the first file kept: {', '.join(twice[:5])}"
        )
    return list(out.values())


def parse_node_device(text: str) -> NodeDevice | None:
    """One `virsh nodedev-dumpxml pci_...`; None for text that is not such XML (a group
    number out of range refuses the file); ValueError (its reason) for XML refused as
    hostile (a DOCTYPE, hence any entity) or too large."""
    if len(text) > MAX_XML_BYTES:
        raise ValueError(f"{len(text)} characters, more than {MAX_XML_BYTES}")
    root = parse_untrusted(text)
    if root.tag != "device":
        return None
    cap = next((c for c in root.findall("capability") if c.get("type") == "pci"), None)
    if cap is None:
        return None
    bdf = to_bdf(*(cap.findtext(k) for k in ("domain", "bus", "slot", "function")))
    if bdf is None:
        return None
    dev = NodeDevice(bdf)
    cls = _HEX.fullmatch((cap.findtext("class") or "").strip())
    if cls is not None and len(cls["hex"]) <= 6:
        dev.pci_class = cls["hex"].lower().rjust(6, "0")
    for key, tag in (("vendor", "vendor"), ("device", "product")):
        element = cap.find(tag)
        found = _HEX.fullmatch((element.get("id") or "") if element is not None else "")
        if found is not None and len(found["hex"]) <= 4:
            setattr(dev, key, found["hex"].lower().rjust(4, "0"))
    driver = (root.findtext("driver/name") or "").strip()
    dev.driver = driver if _NAME.fullmatch(driver) else None
    group = cap.find("iommuGroup")
    if group is not None:
        number = _uint(group.get("number"), 10)
        if number is None or number > MAX_GROUP:
            return None
        dev.group = number
        members = (
            to_bdf(*(a.get(k) for k in ("domain", "bus", "slot", "function")))
            for a in group.findall("address")
        )
        dev.members = [m for m in members if m is not None]
    return dev


def _uint(text: str | None, base: int) -> int | None:
    if text is None:
        return None
    text = text.strip()
    if base == 16 and text.lower().startswith("0x"):
        text = text[2:]
    if not text or len(text) > 8 or not text.isascii() or not text.isalnum():
        return None
    try:
        return int(text, base)
    except ValueError:
        return None


def _hex(text: str | None) -> bool:
    return text is not None and text.strip().lower().startswith("0x")


def to_bdf(domain: str | None, bus: str | None, slot: str | None, fn: str | None) -> str | None:
    """A sysfs-form address from libvirt's numbers (`0x0000` hex attributes, or decimal text in
    `<capability>`); None unless it is a valid one."""
    numbers = [_uint(v, 16 if _hex(v) else 10) for v in (domain, bus, slot, fn)]
    if any(n is None for n in numbers):
        return None
    d, b, s, f = (n or 0 for n in numbers)
    text = f"{d:04x}:{b:02x}:{s:02x}.{f:x}"
    return text if is_bdf(text) else None
