"""`lspci -nnvv` text (as sos records it) -> one entry per PCI function.

The header of each block is `[DDDD:]BB:DD.F CLASS NAME [CCCC]: VENDOR DEVICE [VVVV:DDDD]
(rev RR) (prog-if PP [NAME])`; its indented lines carry `Kernel driver in use: X`, `Kernel
modules: ...` and, from pciutils 3.7, `IOMMU group: N`. The domain is printed only when some
device has one other than 0000. Anything else in the text is skipped and counted, never fatal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HEADER = re.compile(
    r"^(?:(?P<domain>[0-9a-fA-F]{4,8}):)?(?P<bus>[0-9a-fA-F]{2}):(?P<dev>[0-1][0-9a-fA-F])\."
    r"(?P<fn>[0-7])\s+(?P<rest>.*)$"
)
_CLASS = re.compile(r"\[(?P<cls>[0-9a-fA-F]{4})\]:\s*")
_IDS = re.compile(r"\[(?P<vendor>[0-9a-fA-F]{4}):(?P<device>[0-9a-fA-F]{4})\]")
_REV = re.compile(r"\(rev (?P<rev>[0-9a-fA-F]{2})\)")
_PROGIF = re.compile(r"\(prog-if (?P<progif>[0-9a-fA-F]{2})")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}")  # a driver or module name, never a path
MAX_LINE = 4096  # an lspci line is under 200 characters; longer is not lspci's


@dataclass
class LspciDevice:
    """One function as lspci printed it. Ids are lower-case hex; what it did not say is None."""

    bdf: str  # always with its domain: 0000:01:00.0
    pci_class: str | None  # 6 hex digits: class, subclass, prog-if (00 when not printed)
    vendor: str | None
    device: str | None
    name: str = ""
    rev: str | None = None
    driver: str | None = None
    modules: list[str] = field(default_factory=list)
    iommu_group: int | None = None
    subsystem: str | None = None  # "vvvv:dddd"
    lines: list[str] = field(default_factory=list)  # its indented lines, as printed


@dataclass
class LspciListing:
    devices: list[LspciDevice]
    group_lines: bool  # whether any block had an `IOMMU group:` line (pciutils >= 3.7, IOMMU on)
    skipped: int = 0  # lines that were neither a header nor inside a block


def parse_lspci(text: str) -> LspciListing:
    """Every function of an `lspci -nnvv` (or `-nvv`, `-vv`) text."""
    devices: list[LspciDevice] = []
    current: LspciDevice | None = None
    skipped = 0
    for raw in text.splitlines():
        line = raw[:MAX_LINE]
        if not line.strip():
            current = None
            continue
        if line[0] in " \t":
            if current is None:
                skipped += 1
            else:
                _detail(current, line.strip())
            continue
        current = _header(line)
        if current is None:
            skipped += 1
        else:
            devices.append(current)
    return LspciListing(devices, any(d.iommu_group is not None for d in devices), skipped)


def _header(line: str) -> LspciDevice | None:
    match = _HEADER.match(line)
    if match is None:
        return None
    domain = (match["domain"] or "0000").lower()[-4:].rjust(4, "0")
    bdf = f"{domain}:{match['bus'].lower()}:{match['dev'].lower()}.{match['fn']}"
    rest = match["rest"]
    cls = _CLASS.search(rest)
    body = rest[cls.end() :] if cls else rest
    ids = _last_ids(body)  # the last [vvvv:dddd] is the device's own
    progif = _PROGIF.search(rest)
    rev = _REV.search(rest)
    pci_class = None
    if cls is not None:
        pci_class = cls["cls"].lower() + (progif["progif"].lower() if progif else "00")
    name = body[: ids.start()].strip() if ids else body.strip()
    return LspciDevice(
        bdf=bdf,
        pci_class=pci_class,
        vendor=ids["vendor"].lower() if ids else None,
        device=ids["device"].lower() if ids else None,
        name=name[:200],
        rev=rev["rev"].lower() if rev else None,
    )


def _detail(dev: LspciDevice, line: str) -> None:
    if len(dev.lines) < 200:
        dev.lines.append(line)
    key, sep, value = line.partition(":")
    if not sep:
        return
    value = value.strip()
    if key == "Kernel driver in use":
        word = value.split()[0] if value.split() else ""
        dev.driver = word if _NAME.fullmatch(word) else None
    elif key == "Kernel modules":
        dev.modules = [m.strip() for m in value.split(",") if _NAME.fullmatch(m.strip())]
    elif key == "IOMMU group":
        dev.iommu_group = (
            int(value) if value.isascii() and value.isdigit() and len(value) < 8 else None
        )
    elif key == "Subsystem":
        ids = _last_ids(value)
        if ids is not None:
            dev.subsystem = f"{ids['vendor'].lower()}:{ids['device'].lower()}"


def _last_ids(text: str) -> re.Match[str] | None:
    found = None
    for found in _IDS.finditer(text):  # noqa: B007 - the last one is kept
        pass
    return found
