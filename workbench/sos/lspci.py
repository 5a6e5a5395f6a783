"""`lspci -nnvv` text (as sos records it) -> one entry per PCI function.

The header of each block is `[DDDD:]BB:DD.F CLASS NAME [CCCC]: VENDOR DEVICE [VVVV:DDDD]
(rev RR) (prog-if PP [NAME])` (pciutils 3.5-3.13; `-nvv` prints `BB:DD.F CCCC: VVVV:DDDD`,
`-vv` names only); its indented lines carry `Kernel driver in use: X`, `Kernel modules: ...`
and, from pciutils 3.7, `IOMMU group: N`. The domain is printed only when some device has one
other than 0000. The text is the customer's: anything else in it (binary, overlong lines, a
device line that does not parse) is counted and said, never fatal, never trusted as a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from workbench.core.text import safe_text

_HEADER = re.compile(
    r"^(?:(?P<domain>[0-9a-fA-F]{4,8}):)?(?P<bus>[0-9a-fA-F]{2}):(?P<dev>[0-1][0-9a-fA-F])\."
    r"(?P<fn>[0-7])(?:\s+(?P<rest>.*))?$"
)
# Something that starts like a device line (an address), to tell "a device lspci printed that
# we cannot read" (said by address) from noise.
_LOOKS_LIKE_DEVICE = re.compile(r"^(?:[0-9a-fA-F]{4,8}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.")
_CLASS = re.compile(r"\[(?P<cls>[0-9a-fA-F]{4})\]:\s*")
_NUMERIC = re.compile(  # `lspci -nvv`: `0300: 10de:1c82 (rev a1)`
    r"^(?P<cls>[0-9a-fA-F]{4}):\s+(?P<vendor>[0-9a-fA-F]{4}):(?P<device>[0-9a-fA-F]{4})\b"
)
_IDS = re.compile(r"\[(?P<vendor>[0-9a-fA-F]{4}):(?P<device>[0-9a-fA-F]{4})\]")
_REV = re.compile(r"\(rev (?P<rev>[0-9a-fA-F]{2})\)")
_PROGIF = re.compile(r"\(prog-if (?P<progif>[0-9a-fA-F]{2})")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}")  # a driver or module name, never a path
_UNKNOWN_HEADER = re.compile(r"!!! Unknown header type (?P<type>[0-9a-fA-F]{2})")
MAX_LINE = 4096  # an lspci line is under 200 characters; longer is not lspci's
MAX_DEVICES = 4096  # more functions than any machine has: the rest is not believed
MAX_PROBLEMS = 20
# `lspci -vv` (no -n) names the class only: the classes a verdict needs, by pciutils' names.
CLASS_NAMES = {
    "VGA compatible controller": "0300",
    "XGA compatible controller": "0301",
    "3D controller": "0302",
    "Display controller": "0380",
    "Host bridge": "0600",
    "ISA bridge": "0601",
    "PCI bridge": "0604",
    "CardBus bridge": "0607",
    "RACEway bridge": "0608",
    "Semi-transparent PCI-to-PCI bridge": "0609",
    "Audio device": "0403",
    "Multimedia audio controller": "0401",
    "USB controller": "0c03",
    "SMBus": "0c05",
    "Ethernet controller": "0200",
    "Non-Volatile memory controller": "0108",
    "SATA controller": "0106",
}


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
    # `Kernel driver in use:` with what is no driver's name (control codes): a driver is
    # bound, which one is not known; its words as shown (escaped once), never "no driver".
    driver_unreadable: str | None = None
    modules: list[str] = field(default_factory=list)
    iommu_group: int | None = None
    subsystem: str | None = None  # "vvvv:dddd"
    lines: list[str] = field(default_factory=list)  # its indented lines, as printed
    header_type: str | None = None  # `!!! Unknown header type 7f`: config space unreadable


@dataclass
class LspciListing:
    devices: list[LspciDevice]
    group_lines: bool  # whether any block had an `IOMMU group:` line (pciutils >= 3.7, IOMMU on)
    skipped: int = 0  # lines that were neither a header nor inside a block
    problems: list[str] = field(default_factory=list)  # what was left out, and why (safe text)


def parse_lspci(text: str) -> LspciListing:
    """Every function of an `lspci -nnvv` (or `-nvv`, `-vv`) text."""
    devices: list[LspciDevice] = []
    seen: set[str] = set()
    problems: list[str] = []
    current: LspciDevice | None = None
    skipped = 0
    binary = 0
    for raw in text.splitlines():  # CRLF, CR and LF alike
        line = raw[:MAX_LINE]
        if len(raw) > MAX_LINE or "\x00" in line:
            binary += 1
            current = None  # an overlong or binary line ends the block: not lspci's text
            continue
        if not line.strip():
            current = None
            continue
        if line[0] in " \t":
            if current is None:
                skipped += 1
            else:
                _detail(current, line.strip())
            continue
        if line.startswith(("lspci: ", "pcilib: ")):  # its own warnings, on stderr, kept by sos
            _say(problems, f"lspci said: {_shown(line.partition(': ')[2])}")
            current = None
            continue
        current = _header(line)
        if current is None:
            skipped += 1
            if _LOOKS_LIKE_DEVICE.match(line):
                _say(problems, f"a device line not understood, left out: {_shown(line)}")
        elif current.bdf in seen:
            _say(problems, f"{current.bdf} listed twice: the second is left out")
            current = None
        elif len(devices) >= MAX_DEVICES:
            _say(problems, f"more than {MAX_DEVICES} PCI functions: the rest are left out")
            current = None
        else:
            seen.add(current.bdf)
            devices.append(current)
    if binary:
        _say(problems, f"{binary} line(s) overlong or binary, skipped")
    for dev in devices:
        if dev.header_type is not None:
            _say(
                problems,
                f"{dev.bdf}: `Unknown header type {dev.header_type}`: its configuration space "
                "did not answer (a device gone from the bus, or in a low-power state)",
            )
    return LspciListing(
        devices, any(d.iommu_group is not None for d in devices), skipped + binary, problems
    )


def _say(problems: list[str], text: str) -> None:
    if len(problems) < MAX_PROBLEMS:
        problems.append(text)


def _shown(line: str) -> str:
    short = line if len(line) <= 80 else line[:79] + "…"
    return safe_text(short)


def _header(line: str) -> LspciDevice | None:
    match = _HEADER.match(line)
    if match is None:
        return None
    domain = (match["domain"] or "0000").lower()
    if len(domain) > 4:  # a VMD domain (10000): no sysfs-form address of four digits holds it
        return None
    bdf = f"{domain}:{match['bus'].lower()}:{match['dev'].lower()}.{match['fn']}"
    rest = match["rest"] or ""
    numeric = _NUMERIC.match(rest)
    cls = _CLASS.search(rest)
    body = rest[cls.end() :] if cls else rest
    ids = _last_ids(body)  # the last [vvvv:dddd] is the device's own
    progif = _PROGIF.search(rest)
    rev = _REV.search(rest)
    code = None
    if numeric is not None:
        code, body = numeric["cls"], ""
    elif cls is not None:
        code = cls["cls"]
    else:
        named, sep, after = rest.partition(":")
        code = CLASS_NAMES.get(named.strip()) if sep else None
        body = after if sep else rest
    pci_class = None
    if code is not None:
        pci_class = code.lower() + (progif["progif"].lower() if progif else "00")
    vendor = numeric["vendor"] if numeric else ids["vendor"] if ids else None
    device = numeric["device"] if numeric else ids["device"] if ids else None
    name = body[: ids.start()] if ids and not numeric else _REV.split(body)[0]
    return LspciDevice(
        bdf=bdf,
        pci_class=pci_class,
        vendor=vendor.lower() if vendor else None,
        device=device.lower() if device else None,
        name=safe_text(name.strip())[:200],
        rev=rev["rev"].lower() if rev else None,
    )


def _detail(dev: LspciDevice, line: str) -> None:
    if len(dev.lines) < 200:
        dev.lines.append(line)
    unknown = _UNKNOWN_HEADER.match(line)
    if unknown is not None:
        dev.header_type = unknown["type"].lower()
        return
    key, sep, value = line.partition(":")
    if not sep:
        return
    value = value.strip()
    if key == "Kernel driver in use":
        word = value.split()[0] if value.split() else ""
        dev.driver = word if _NAME.fullmatch(word) else None
        dev.driver_unreadable = None if dev.driver else repr(value[:40])
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
