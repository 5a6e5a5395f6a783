"""The one way to a hypervisor: a protocol with a live implementation (libvirt, through
`workbench.virt.live`) and a recorded one (a capture's `libvirt/`, `workbench.virt.recorded`).

Probes, collectors, the UI and the API talk to this protocol and carry typed domains; only
modules under `workbench/virt/` import libvirt. Every call may raise WorkbenchError (a
VirtConnectionError/LibvirtError when the hypervisor does not answer), with a context frame
saying which gateway call it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from workbench.core.errors import VirtConnectionError
from workbench.core.report import Finding

if TYPE_CHECKING:  # the XML parser (~5 ms of imports) loads when a domain is first read
    from workbench.virt.domains import DomainConfig

RUNNING_STATES = frozenset({"running", "paused", "blocked", "pmsuspended"})


# The manifest key (`not_recorded`) of a recording that holds the hypervisor's description but
# not whether it answered (a sosreport without virsh output): libvirt.connection reads it.
ANSWERED = "libvirt/connection.json#answered"


@dataclass(frozen=True)
class HypervisorInfo:
    """Who answered: the URI (password masked), the driver and versions, as far as known.
    A recorded hypervisor may lack fields: None means "not recorded", never "absent"."""

    uri: str
    hypervisor: str | None
    hypervisor_version: str | None
    libvirt_version: str | None
    hostname: str | None
    readonly: bool = True
    recorded: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "hypervisor": self.hypervisor,
            "hypervisor_version": self.hypervisor_version,
            "libvirt_version": self.libvirt_version,
            "hostname": self.hostname,
            "readonly": self.readonly,
            "recorded": self.recorded,
        }


@dataclass(frozen=True)
class DomainSnapshot:
    """One domain as the hypervisor described it at one moment.

    `config` is None when its XML could not be read or parsed; `problem` then says why and
    `problem_code` is DOMAIN_UNREADABLE or DOMAIN_XML_INVALID."""

    name: str
    state: str  # a workbench.core.lifecycle state name ("running", "shutoff", ...)
    persistent: bool
    config: DomainConfig | None
    problem: str | None = None
    problem_code: str | None = None
    reason: int = 0  # libvirt's state reason number (a capture records it)
    xml: str | None = None  # the XML as read (a capture records it, parsed or not)
    # False when the recording does not say the state (a sosreport whose virsh listing is
    # missing): `state` is then "nostate", which is not a fact about the domain.
    state_recorded: bool = True

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES

    @classmethod
    def from_xml(
        cls,
        name: str,
        state: str,
        persistent: bool,
        xml: str,
        reason: int = 0,
        *,
        state_recorded: bool = True,
    ) -> DomainSnapshot:
        """The domain with its XML parsed; XML that does not parse is its problem
        (DOMAIN_XML_INVALID), kept as read."""
        try:
            from workbench.virt.domains import parse_domain_xml

            config = parse_domain_xml(xml)
        except ValueError as exc:
            return cls(
                name,
                state,
                persistent,
                None,
                problem=str(exc),
                problem_code="DOMAIN_XML_INVALID",
                reason=reason,
                xml=xml,
                state_recorded=state_recorded,
            )
        return cls(
            name, state, persistent, config, reason=reason, xml=xml, state_recorded=state_recorded
        )


@dataclass(frozen=True)
class Capabilities:
    """What the hypervisor says it can run (virConnectGetCapabilities, parsed)."""

    host_arch: str | None
    host_cpu_model: str | None
    # guest architecture -> domain types it offers ("kvm", "qemu", "test")
    guests: dict[str, tuple[str, ...]] = field(default_factory=dict)
    xml: str | None = None  # the XML as answered (a capture records it)

    @property
    def kvm(self) -> bool:
        return any("kvm" in types for types in self.guests.values())


@dataclass(frozen=True)
class AgentAnswer:
    """What a guest agent answered and through which way (libvirt or its socket)."""

    answers: dict[str, Any]
    served_by: str
    tried: list[dict[str, Any]]

    @property
    def summary(self) -> dict[str, Any]:
        """The answers as probe facts: version, OS, kernel, hostname, interfaces."""
        answers = self.answers
        info = _mapping(answers.get("guest-info"))
        osinfo = _mapping(answers.get("guest-get-osinfo"))
        host = _mapping(answers.get("guest-get-host-name"))
        interfaces = []
        ifaces = answers.get("guest-network-get-interfaces")
        for iface in ifaces if isinstance(ifaces, list) else ():
            if isinstance(iface, dict):
                addresses = iface.get("ip-addresses")
                interfaces.append(
                    {
                        "name": iface.get("name"),
                        "mac": iface.get("hardware-address"),
                        "addresses": [
                            f"{a.get('ip-address')}/{a.get('prefix')}"
                            for a in (addresses if isinstance(addresses, list) else ())
                            if isinstance(a, dict)
                        ],
                    }
                )
        return {
            "version": info.get("version"),
            "os": osinfo.get("pretty-name") or osinfo.get("name"),
            "kernel": osinfo.get("kernel-release"),
            "hostname": host.get("host-name"),
            "interfaces": interfaces,
        }


def _mapping(value: Any) -> dict[str, Any]:
    """A guest's answer where an object is expected: anything else reads as empty."""
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class RecordedAgents:
    """What the guest.agent probe concluded when a capture was made: a capture records the
    outcome (every field checked), not the agents' raw answers, so it is replayed whole."""

    status: str | None
    summary: str
    facts: dict[str, Any]
    findings: tuple[Finding, ...] = ()


def closed_error(uri: str) -> VirtConnectionError:
    """What a call on a closed hypervisor raises: closing is final, never a silent reconnect
    (a probe its run abandoned must not open a connection nobody closes)."""
    return VirtConnectionError(
        f"{uri or 'the hypervisor'}: closed (its run is over)",
        code="HYPERVISOR_CLOSED",
        details={"uri": uri},
        recoverable=False,
    )


@runtime_checkable
class Hypervisor(Protocol):
    """A hypervisor, live or recorded, for one run: opening is lazy (the first call
    connects), `domains()` is read once and then answered from that snapshot, and `close()` is
    final and idempotent: a later call raises HYPERVISOR_CLOSED (see `closed_error`).

    Whoever made one closes it: the runner closes the one a run is handed (a Target gives a
    fresh one per run with `new_hypervisor()`)."""

    @property
    def uri(self) -> str:
        """The URI as shown (password masked)."""
        ...

    @property
    def recorded(self) -> bool:
        """True for a capture's recording: nothing can be asked that was not recorded."""
        ...

    @property
    def problems(self) -> tuple[str, ...]:
        """What a recording got wrong and was read around (always empty when live). Read it
        after a call: a recording is read on first use."""
        ...

    def info(self) -> HypervisorInfo: ...

    def domains(self) -> list[DomainSnapshot]:
        """Every domain, sorted by name: read on the first call, the same list after."""
        ...

    def agent(self, vm: DomainSnapshot, timeout_s: float) -> AgentAnswer:
        """Ask `vm`'s guest agent its read-only queries; GuestAgentError when it cannot."""
        ...

    def recorded_agents(self) -> RecordedAgents | None:
        """The guest-agent outcome a recording holds; None when live or none was recorded."""
        ...

    def capabilities(self) -> Capabilities: ...

    def close(self) -> None: ...
