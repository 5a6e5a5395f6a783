"""What a domain's XML says about passthrough: PCI hostdevs, Looking Glass shmem, agent channel."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from workbench.core.text import parse_uint

_HEX = re.compile(r"[0-9a-fA-F]{1,16}")

AGENT_CHANNEL = "org.qemu.guest_agent.0"


@dataclass(frozen=True)
class Hostdev:
    bdf: str  # "0000:01:00.0"
    managed: bool
    rom: str | None = None  # <rom file=...>: the vBIOS QEMU reads instead of the card's


@dataclass(frozen=True)
class Hugepages:
    """`<memoryBacking><hugepages>`: the page sizes asked for (KiB; None is the host's default
    size) and the guest NUMA cells each applies to (`nodeset` of a `<page>`, guest cells)."""

    pages: tuple[tuple[int | None, str | None], ...] = ()


@dataclass(frozen=True)
class Seclabel:
    """A `<seclabel>`: the DAC one says which user QEMU runs as (`label`, `user:group` or
    `+uid:+gid`) and whether libvirt relabels files for it."""

    model: str | None
    kind: str | None  # "dynamic", "static", "none"
    relabel: bool
    label: str | None


@dataclass(frozen=True)
class Shmem:
    name: str
    model: str | None
    size_mib: int | None


@dataclass(frozen=True)
class AgentChannel:
    kind: str  # "unix", "pty", ...
    path: str | None  # the host-side socket for type unix


@dataclass(frozen=True)
class Graphics:
    kind: str  # "spice", "vnc"
    port: int | None
    listen: str | None


@dataclass(frozen=True)
class DomainConfig:
    name: str
    uuid: str | None
    virt_type: str | None  # "kvm", "qemu", "test"
    hostdevs: list[Hostdev] = field(default_factory=list)
    shmem: list[Shmem] = field(default_factory=list)
    agent: AgentChannel | None = None
    graphics: list[Graphics] = field(default_factory=list)
    # What decides whether it can start (read by vm.preflight; not in to_dict, a contract).
    memory_kib: int | None = None
    hugepages: Hugepages | None = None  # None: not backed by hugepages
    numa_nodeset: str | None = None  # <numatune><memory nodeset=...>: host NUMA nodes
    numa_mode: str | None = None  # its mode= (libvirt's default when absent: strict)
    loader: str | None = None
    nvram: str | None = None
    seclabels: tuple[Seclabel, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "uuid": self.uuid,
            "type": self.virt_type,
            "hostdevs": [{"bdf": h.bdf, "managed": h.managed} for h in self.hostdevs],
            "shmem": [
                {"name": s.name, "model": s.model, "size_mib": s.size_mib} for s in self.shmem
            ],
            "agent_channel": None
            if self.agent is None
            else {"type": self.agent.kind, "path": self.agent.path},
            "graphics": [
                {"type": g.kind, "port": g.port, "listen": g.listen} for g in self.graphics
            ],
        }


def _int(text: str | None, base: int = 10) -> int | None:
    """An ASCII number from domain XML (`0x`-prefixed or bare hex for base 16); None for
    anything else: int() would take `٣`, `1_0` and 4,000 digits."""
    if text is None:
        return None
    digits = text.strip()
    if base == 16:
        digits = digits.removeprefix("0x").removeprefix("0X")
        return int(digits, 16) if _HEX.fullmatch(digits) else None
    return parse_uint(digits, limit=1 << 32)


# libvirt's memory units (its scaled integer): 1000-based when they say B, else 1024-based.
_UNIT_KIB = {
    "b": 1 / 1024,
    "bytes": 1 / 1024,
    "kb": 1000 / 1024,
    "k": 1,
    "kib": 1,
    "mb": 1000**2 / 1024,
    "m": 1024,
    "mib": 1024,
    "gb": 1000**3 / 1024,
    "g": 1024**2,
    "gib": 1024**2,
    "tb": 1000**4 / 1024,
    "t": 1024**3,
    "tib": 1024**3,
}


def _kib(value: str | None, unit: str | None) -> int | None:
    """A libvirt scaled number in KiB (its default unit); None for anything unreadable."""
    number = parse_uint((value or "").strip(), limit=1 << 60)
    factor = _UNIT_KIB.get((unit or "kib").strip().lower())
    if number is None or factor is None:
        return None
    return int(number * factor)


_UNIT_MIB = {
    "b": 1 / 1048576,
    "bytes": 1 / 1048576,
    "k": 1 / 1024,
    "kib": 1 / 1024,
    "kb": 1 / 1024,
    "m": 1,
    "mib": 1,
    "mb": 1,
    "g": 1024,
    "gib": 1024,
    "gb": 1024,
}


def parse_domain_xml(text: str) -> DomainConfig:
    """The passthrough-relevant parts of a domain's XML. Raises ValueError for non-XML."""
    try:
        root = ET.fromstring(text)  # noqa: S314 - see import
    except ET.ParseError as exc:
        raise ValueError(f"domain XML does not parse: {exc}") from exc
    devices = root.find("devices")
    hostdevs: list[Hostdev] = []
    shmem: list[Shmem] = []
    graphics: list[Graphics] = []
    agent = None
    for dev in [] if devices is None else list(devices):
        if dev.tag == "hostdev" and dev.get("type") == "pci":
            addr = dev.find("source/address")
            if addr is None:
                continue
            # libvirt treats an omitted domain (and function) as 0
            parts = [
                _int(addr.get(k) or ("0" if k in ("domain", "function") else None), 16)
                for k in ("domain", "bus", "slot", "function")
            ]
            if any(p is None for p in parts):
                continue
            dom, bus, slot, fn = (p or 0 for p in parts)
            rom = dev.find("rom")
            hostdevs.append(
                Hostdev(
                    f"{dom:04x}:{bus:02x}:{slot:02x}.{fn:x}",
                    dev.get("managed") == "yes",
                    None if rom is None else rom.get("file"),
                )
            )
        elif dev.tag == "shmem":
            size = dev.find("size")
            mib = None
            value = parse_uint(size.text if size is not None else None, limit=1 << 60)
            if size is not None and value is not None:  # ASCII digits, bounded: no overflow
                factor = _UNIT_MIB.get((size.get("unit") or "b").lower())
                mib = None if factor is None else int(value * factor)
            model = dev.find("model")
            shmem.append(
                Shmem(dev.get("name") or "", None if model is None else model.get("type"), mib)
            )
        elif dev.tag == "channel":
            target = dev.find("target")
            if target is not None and target.get("name") == AGENT_CHANNEL:
                source = dev.find("source")
                agent = AgentChannel(
                    dev.get("type") or "", None if source is None else source.get("path")
                )
        elif dev.tag == "graphics":
            listen = dev.get("listen")
            listen_el = dev.find("listen")
            if listen is None and listen_el is not None:
                listen = listen_el.get("address")
            graphics.append(Graphics(dev.get("type") or "", _int(dev.get("port")), listen))
    uuid = root.find("uuid")
    memory = root.find("memory")
    hugepages = root.find("memoryBacking/hugepages")
    numa = root.find("numatune/memory")
    return DomainConfig(
        name=(root.findtext("name") or "").strip(),
        uuid=None if uuid is None or not uuid.text else uuid.text.strip(),
        virt_type=root.get("type"),
        hostdevs=hostdevs,
        shmem=shmem,
        agent=agent,
        graphics=graphics,
        memory_kib=None if memory is None else _kib(memory.text, memory.get("unit")),
        hugepages=None
        if hugepages is None
        else Hugepages(
            tuple(
                (_kib(p.get("size"), p.get("unit")), p.get("nodeset"))
                for p in hugepages.findall("page")
            )
        ),
        numa_nodeset=None if numa is None else numa.get("nodeset"),
        numa_mode=None if numa is None else numa.get("mode"),
        loader=_path(root.findtext("os/loader")),
        nvram=_path(root.findtext("os/nvram")),
        seclabels=tuple(
            Seclabel(
                s.get("model"),
                s.get("type"),
                s.get("relabel") != "no",
                _path(s.findtext("label")),
            )
            for s in root.findall("seclabel")
        ),
    )


def _path(text: str | None) -> str | None:
    """An element's text as a path or label; None when empty."""
    return text.strip() or None if text else None
