"""What virConnectGetCapabilities' XML says: the host's CPU and the guests it can run."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from workbench.virt.hypervisor import Capabilities


def parse_capabilities(text: str) -> Capabilities:
    """The host CPU and, per guest architecture, the domain types offered (in order, once
    each). Raises ValueError for text that is not XML."""
    try:
        # libvirt's own answer or a capture's copy of it: ElementTree expands no external
        # entities, and the size is bounded by the reader (Host) or the daemon.
        root = ET.fromstring(text)  # noqa: S314
    except ET.ParseError as exc:
        raise ValueError(f"capabilities XML does not parse: {exc}") from exc
    guests: dict[str, list[str]] = {}
    for guest in root.findall("guest"):
        arch = guest.find("arch")
        if arch is None or not arch.get("name"):
            continue
        types = guests.setdefault(arch.get("name") or "", [])
        for domain in arch.findall("domain"):
            kind = domain.get("type")
            if kind and kind not in types:
                types.append(kind)
    return Capabilities(
        host_arch=_text(root.findtext("host/cpu/arch")),
        host_cpu_model=_text(root.findtext("host/cpu/model")),
        guests={arch: tuple(types) for arch, types in guests.items()},
        xml=text,
    )


def _text(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None
