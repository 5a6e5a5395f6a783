"""A hypervisor as a capture recorded it (`libvirt/` in a machine root): the few calls of the
libvirt API the probes make, answered from the recording, so a capture's report matches the
machine's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from workbench.core.host import Host

LIBVIRT_DIR = "libvirt"


@dataclass
class RecordedDomain:
    _name: str
    _state: int
    _reason: int
    _persistent: bool
    _xml: str

    def name(self) -> str:
        return self._name

    def state(self) -> list[int]:
        return [self._state, self._reason]

    def isPersistent(self) -> int:
        return int(self._persistent)

    def XMLDesc(self, flags: int = 0) -> str:
        return self._xml


@dataclass
class RecordedHypervisor:
    info: dict[str, Any]  # uri, hypervisor, versions, hostname; or {"uri", "error"}
    domains: list[RecordedDomain]
    agents: dict[str, Any] | None  # the guest.agent probe's recorded outcome

    @property
    def error(self) -> dict[str, Any] | None:
        error = self.info.get("error")
        return error if isinstance(error, dict) else None

    def listAllDomains(self, flags: int = 0) -> list[RecordedDomain]:
        return list(self.domains)

    def close(self) -> int:
        return 0


def load_recorded(host: Host) -> RecordedHypervisor | None:
    """The recorded hypervisor of a machine root; None when it recorded none (or is live)."""
    if host.live:
        return None
    info = _json(host, f"{LIBVIRT_DIR}/connection.json")
    if not isinstance(info, dict):
        return None
    domains = []
    listing = _json(host, f"{LIBVIRT_DIR}/domains.json")
    for entry in listing if isinstance(listing, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        name = entry["name"]
        xml, _ = host.try_read(domain_member(name))
        if xml is None:
            continue
        domains.append(
            RecordedDomain(
                name,
                int(entry.get("state") or 0),
                int(entry.get("reason") or 0),
                bool(entry.get("persistent")),
                xml,
            )
        )
    agents = _json(host, f"{LIBVIRT_DIR}/agents.json")
    return RecordedHypervisor(info, domains, agents if isinstance(agents, dict) else None)


def domain_member(name: str) -> str:
    """Where a domain's XML is recorded (a file name that is safe whatever the domain is called)."""
    safe = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in name).lstrip(".") or "_"
    return f"{LIBVIRT_DIR}/domains/{safe}.xml"


def _json(host: Host, rel: str) -> Any:
    text, _ = host.try_read(rel)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
