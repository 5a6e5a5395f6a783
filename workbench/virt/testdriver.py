"""Node files for libvirt's test driver (`test:///PATH`): whole hypervisors with no daemon, for the
demo and the tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr


@dataclass
class Domain:
    name: str
    running: bool = True
    hostdevs: list[str] = field(default_factory=list)  # "0000:01:00.0"
    shmem_mib: int | None = None
    agent_socket: Path | None = None
    spice_port: int | None = None


def _hostdev(bdf: str) -> str:
    dom, bus, rest = bdf.split(":")
    slot, fn = rest.split(".")
    return (
        "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
        f"<address domain='0x{dom}' bus='0x{bus}' slot='0x{slot}' function='0x{fn}'/>"
        "</source></hostdev>"
    )


def node_xml(domains: list[Domain]) -> str:
    """A test-driver node file holding `domains` (running or shut off)."""
    parts = ["<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"]
    for dom in domains:
        devices = [_hostdev(bdf) for bdf in dom.hostdevs]
        if dom.shmem_mib is not None:
            devices.append(
                "<shmem name='looking-glass'><model type='ivshmem-plain'/>"
                f"<size unit='M'>{dom.shmem_mib}</size></shmem>"
            )
        if dom.agent_socket is not None:
            devices.append(
                f"<channel type='unix'><source mode='bind' "
                f"path={quoteattr(str(dom.agent_socket))}/>"
                "<target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
            )
        if dom.spice_port is not None:
            devices.append(f"<graphics type='spice' port='{dom.spice_port}' listen='127.0.0.1'/>")
        parts.append(
            f"<domain type='test'><name>{dom.name}</name><uuid>{uuid.uuid4()}</uuid>"
            "<memory>1048576</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
            f"<devices>{''.join(devices)}</devices>"
            f"<test:runstate>{1 if dom.running else 5}</test:runstate></domain>"
        )
    parts.append("</node>")
    return "".join(parts)


def write_node(path: Path, domains: list[Domain]) -> Path:
    path.write_text(node_xml(domains))
    path.chmod(0o644)
    return path
